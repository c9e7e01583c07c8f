import type { Readable } from 'node:stream';

/** What the store says of an object it holds. */
export interface ObjectInfo {
  size: number;
  contentType?: string;
}

/** A direct upload the client sends as multipart/form-data: the fields first, then the `file` part. */
export interface PresignedPost {
  url: string;
  fields: Record<string, string>;
}

export interface PostPolicy {
  contentType: string;
  /** The upload may be at most this many bytes (and at least one). */
  maxBytes: number;
  expiresS: number;
}

export interface SignedGet {
  expiresS: number;
  /** The response's Content-Type and Content-Disposition, fixed by the signature. */
  contentType: string;
  disposition: string;
}

/**
 * The storage port: everything the files module needs of an object store, and nothing that
 * takes an arbitrary key from a client (keys come from the files table). Two adapters:
 * S3-compatible object storage and a local directory.
 */
export interface ObjectStorage {
  readonly kind: 'local' | 's3';
  put(key: string, body: Readable, options: { contentType: string }): Promise<void>;
  get(key: string): Promise<Readable>;
  /** The first `length` bytes (or fewer): for magic-byte checks without reading the whole object. */
  head(key: string): Promise<ObjectInfo | null>;
  readStart(key: string, length: number): Promise<Buffer>;
  delete(keys: string[]): Promise<void>;
  /** Every object under `prefix`, with its last change: the orphan sweep's view. */
  list(prefix: string): AsyncIterable<{ key: string; lastModified: Date }>;
  presignPost(key: string, policy: PostPolicy): Promise<PresignedPost>;
  signedGetUrl(key: string, options: SignedGet): Promise<string>;
  /** Throws unless the bucket (or directory) can be reached: readiness. */
  ping(timeoutMs: number): Promise<void>;
}

/** The store could not be reached or refused the operation: the caller answers 503. */
export class StorageUnavailable extends Error {
  constructor(cause: unknown) {
    super('object storage is unavailable', { cause });
    this.name = 'StorageUnavailable';
  }
}

/** No object under that key. */
export class ObjectMissing extends Error {
  constructor(key: string) {
    super(`no object ${key}`);
    this.name = 'ObjectMissing';
  }
}
