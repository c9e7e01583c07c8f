import { Readable } from 'node:stream';
import yazl from 'yazl';

/** A file of the person's, as the export document lists it. */
export interface ListedFile {
  id: string;
  purpose: string;
  contentType: string;
  filename: string | null;
}

/** The bytes of a listed file, or undefined when it was deleted since the list was made. */
export type OpenFile = (fileId: string) => Promise<Readable | undefined>;

const IMAGE_EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif' };

/** A name that is one harmless path segment inside the zip: no separators, no `..`, no control characters. */
export function archiveName(name: string): string {
  const safe = name
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._ -]/gu, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.\s]+/, '')
    .slice(0, 100)
    .trim();
  return safe || 'file';
}

function pathOf(file: ListedFile): string {
  const name = file.filename ?? `${file.purpose}.${IMAGE_EXTENSIONS[file.contentType] ?? 'bin'}`;
  return `files/${file.id}/${archiveName(name)}`;
}

/**
 * The export archive as a zip stream: every file under `files/<id>/<name>`, each opened only
 * when the zip reaches it (memory stays at a few chunks whatever the sizes), then
 * `export.json`: the same document as GET /api/users/me/export, plus `archive.files`, where
 * each file sits (null for one deleted while the archive was made). A file that fails to read
 * fails the whole archive: never a zip with a silently short file.
 */
export function exportArchive<D extends { files: ListedFile[] }>(document: D, openFile: OpenFile, signal: AbortSignal): Readable {
  const zip = new yazl.ZipFile();
  const output = zip.outputStream as Readable; // a PassThrough
  const fail = (error: Error) => output.destroy(error);
  if (signal.aborted) fail(new Error('the export was stopped'));
  signal.addEventListener('abort', () => fail(new Error('the export was stopped')), { once: true });

  const placed: { id: string; path: string | null }[] = [];
  for (const file of document.files) {
    const path = pathOf(file);
    const entry = { id: file.id, path: path as string | null };
    placed.push(entry);
    // Already compressed, mostly (images, PDFs, recordings): stored as they are.
    zip.addReadStreamLazy(path, { compress: false }, (done) => {
      openFile(file.id).then(
        (body) => {
          if (!body) entry.path = null;
          const stream = body ?? Readable.from([]);
          stream.on('error', fail);
          done(null, stream);
        },
        (error: Error) => fail(error),
      );
    });
  }
  zip.addReadStreamLazy('export.json', (done) => done(null, Readable.from([Buffer.from(JSON.stringify({ ...document, archive: { files: placed } }, null, 2))])));
  zip.end();
  return output;
}
