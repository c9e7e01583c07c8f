import { pipeline as pipelineCallback } from 'node:stream';
import { AppError } from '../../errors/app-error.js';
import { Reply, route, type RouteDefinition } from '../../http/route.js';
import { sendStream } from '../../http/stream-body.js';
import type { AttachmentsService } from './attachments.service.js';
import {
  attachmentListResponse,
  fileIdSchema,
  fileResponse,
  fileWithUrlResponse,
  localObjectSchema,
  presignResponse,
  presignSchema,
  registerSchema,
  sessionAttachmentsSchema,
} from './files.schemas.js';
import type { FilesService } from './files.service.js';
import type { ImagesService } from './images.service.js';
import { readFilePart } from './multipart.js';
import { byteCounter } from './streams.js';
import type { LocalStorage } from './storage/local.js';
import type { ObjectStorage } from './storage/port.js';

const multipartDoc = [{ name: 'Content-Type', description: 'multipart/form-data with one part named "file"' }];

/** `/api/files`: images by presigned POST, every file's metadata and bytes, and the local adapter's upload and download endpoints. */
export function filesRoutes(services: { files: FilesService; images: ImagesService; storage: ObjectStorage; imageMaxBytes: number }): RouteDefinition[] {
  const { files, images, storage, imageMaxBytes } = services;
  const local = storage.kind === 'local' ? (storage as LocalStorage) : undefined;
  return [
    route(
      {
        method: 'POST', path: '/presign', access: 'authenticated', summary: 'Presigned POST for an avatar or an organization logo',
        description: 'Returns the URL and form fields of a direct upload whose policy fixes the key, the type (PNG, JPEG, WebP, GIF) and the size; then call /api/files/register.',
        request: presignSchema, response: { status: 201, description: 'The upload to send', schema: presignResponse },
      },
      ({ actor, input }) => images.presign(actor, input.body),
    ),
    route(
      {
        method: 'POST', path: '/register', access: 'authenticated', summary: 'Register an uploaded avatar or logo',
        description: 'Accepts only a key this caller was issued and has not registered; checks the stored size and bytes, then makes it the avatar or logo.',
        request: registerSchema, response: { status: 200, description: 'The registered file', schema: fileResponse },
      },
      ({ actor, input }) => images.register(actor, input.body.storageKey),
    ),
    route(
      {
        method: 'GET', path: '/:fileId', access: 'authenticated', summary: 'A file’s metadata (and a short-lived signed URL for an image)',
        request: fileIdSchema, response: { status: 200, description: 'The file', schema: fileWithUrlResponse },
      },
      ({ actor, input, meta }) => files.get(actor, input.params.fileId, meta),
    ),
    route(
      {
        method: 'GET', path: '/:fileId/stream', access: 'authenticated', summary: 'A file’s bytes (attachments decrypted)',
        description: 'Content-Disposition: attachment for everything but validated raster images and video; nosniff; a sandboxing CSP; never cached. An attachment erased with the data of the person it is about (their data key destroyed) answers 410 ATTACHMENT_ERASED.',
        request: fileIdSchema, response: { status: 200, description: 'The bytes', contentType: 'application/octet-stream' },
      },
      async ({ actor, input, meta, res }) => {
        const { headers, body } = await files.open(actor, input.params.fileId, meta);
        await sendStream(res, headers, body);
      },
    ),
    route(
      { method: 'DELETE', path: '/:fileId', access: 'authenticated', summary: 'Delete a file (its uploader, a platform admin, or an attachment’s client)', request: fileIdSchema, response: { status: 204, description: 'Deleted' } },
      ({ actor, input, meta }) => files.remove(actor, input.params.fileId, meta),
    ),
    route(
      {
        method: 'POST', path: '/local/uploads', access: 'public', summary: 'Upload target of a presigned POST (local storage only)',
        description: 'The form fields of /api/files/presign, then the file part. The signed policy is the credential. 404 when files are on S3.',
        response: { status: 204, description: 'Stored' }, headers: multipartDoc,
      },
      async ({ req }) => {
        if (!local) throw AppError.notFound('upload target');
        const part = await readFilePart(req, imageMaxBytes);
        const claims = local.checkPost(part.fields.policy ?? '', { key: part.fields.key, contentType: part.fields['Content-Type'] });
        if (!claims) {
          part.stream.resume();
          throw AppError.forbidden('INVALID_UPLOAD_POLICY', 'The upload policy is missing, expired, forged or for another key or type.');
        }
        const counted = byteCounter();
        pipelineCallback(part.stream, counted, () => undefined); // a client going away fails the write
        await local.put(claims.key, counted);
        if (part.truncated() || counted.bytes === 0 || counted.bytes > claims.maxBytes) {
          await local.delete([claims.key]);
          throw AppError.badRequest('UPLOAD_SIZE_OUT_OF_RANGE', `The policy allows 1 to ${claims.maxBytes} bytes.`);
        }
        return new Reply(204, undefined);
      },
    ),
    route(
      {
        method: 'GET', path: '/local/objects/:token', access: 'public', summary: 'A signed image URL (local storage only)',
        request: localObjectSchema, response: { status: 200, description: 'The image', contentType: 'application/octet-stream' },
      },
      async ({ input, res }) => {
        const claims = local?.checkGet(input.params.token);
        if (!local || !claims) throw AppError.forbidden('INVALID_SIGNATURE', 'The URL is expired or its signature does not match.');
        const info = await local.head(claims.key);
        if (!info) throw AppError.notFound('file');
        const headers = {
          'Content-Type': claims.contentType,
          'Content-Length': String(info.size),
          'Content-Disposition': claims.disposition,
          'X-Content-Type-Options': 'nosniff',
          'Content-Security-Policy': "sandbox; default-src 'none'",
          'Cache-Control': 'private, no-store',
        };
        await sendStream(res, headers, await local.get(claims.key));
      },
    ),
  ];
}

/** `/api/sessions/:id/attachments`: counseling attachments, through the API. */
export function attachmentRoutes(attachments: AttachmentsService): RouteDefinition[] {
  return [
    route(
      {
        method: 'POST', path: '/:id/attachments', access: 'authenticated', summary: 'Attach a file to a session (the client and their counselor)',
        description: 'multipart/form-data with one part named "file"; the type is decided by the content, the file is encrypted before it is stored.',
        request: sessionAttachmentsSchema, response: { status: 201, description: 'The attachment', schema: fileResponse }, headers: multipartDoc,
      },
      ({ actor, input, meta, req }) => attachments.upload(actor, input.params.id, (maxBytes) => readFilePart(req, maxBytes), meta),
    ),
    route(
      {
        method: 'GET', path: '/:id/attachments', access: 'authenticated', summary: 'A session’s attachments (names only for those who may read its content)',
        request: sessionAttachmentsSchema, response: { status: 200, description: '{ items }', schema: attachmentListResponse },
      },
      ({ actor, input, meta }) => attachments.list(actor, input.params.id, meta),
    ),
  ];
}

