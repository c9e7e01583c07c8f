import busboy from 'busboy';
import type { Request } from 'express';
import type { Readable } from 'node:stream';
import { AppError } from '../../errors/app-error.js';

/** The one file of a multipart/form-data upload, streaming: nothing is held in memory. */
export interface FilePart {
  /** The name the client gave (never trusted: only shown, sanitized, on download). */
  filename: string;
  stream: Readable;
  /** True once the stream ended early because the file was larger than the limit. */
  truncated: () => boolean;
  /** Form fields that came before the file part. */
  fields: Record<string, string>;
}

/**
 * Reads a `multipart/form-data` body up to its `file` part, with busboy: fields before it
 * are collected (at most 10 small ones), the file is handed over as a stream of at most
 * `maxBytes` (busboy cuts it there and discards the rest, so the request is still read to
 * its end and the answer arrives).
 */
export function readFilePart(req: Request, maxBytes: number): Promise<FilePart> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      // The name is kept as sent (never used as a path): the download sanitizes it. busboy calls a
      // file that reaches its limit truncated, so the limit is one byte past the largest allowed.
      parser = busboy({ headers: req.headers, preservePath: true, limits: { files: 1, fields: 10, fieldSize: 8192, fileSize: maxBytes + 1, parts: 12 } });
    } catch {
      reject(AppError.badRequest('MULTIPART_REQUIRED', 'Send the file as multipart/form-data with one part named "file".'));
      return;
    }
    const fields: Record<string, string> = {};
    let settled = false;
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== 'file' || settled) {
        stream.resume();
        return;
      }
      settled = true;
      let cut = false;
      stream.on('limit', () => {
        cut = true;
      });
      parser.once('error', (error: Error) => stream.destroy(error));
      resolve({ filename: info.filename ?? 'file', stream, truncated: () => cut || (stream as unknown as { truncated?: boolean }).truncated === true, fields });
    });
    // A client that goes away mid-upload: the file stream fails, so nothing waits for it forever.
    req.on('close', () => {
      if (!req.complete) parser.destroy(new AppError(400, 'UPLOAD_ABORTED', 'Upload aborted', { detail: 'The request ended before the upload was complete.' }));
    });
    parser.on('error', () => {
      if (!settled) reject(AppError.badRequest('MALFORMED_MULTIPART', 'The multipart/form-data body could not be read.'));
      settled = true;
    });
    parser.on('close', () => {
      if (!settled) reject(AppError.badRequest('FILE_PART_MISSING', 'The form has no part named "file".'));
      settled = true;
    });
    req.pipe(parser);
  });
}
