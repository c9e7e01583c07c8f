import { randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isSafePrefix } from '../file-keys.js';
import { ObjectMissing, type ObjectInfo, type ObjectStorage, type PostPolicy, type PresignedPost, type SignedGet } from './port.js';
import { signToken, verifyToken } from '../../../crypto/signed-token.js';

export interface PostClaims {
  exp: number;
  key: string;
  contentType: string;
  maxBytes: number;
}
export interface GetClaims {
  exp: number;
  key: string;
  contentType: string;
  disposition: string;
}

const TEMP_MARK = '.upload-';

/**
 * The local-directory adapter: objects are files under DATA_DIR/files, the embedded default
 * for a laptop. Presigned POSTs and GET URLs are HMAC-signed tokens that the API's own
 * routes (`/api/files/local/...`) check, the same fields a client sends to S3.
 */
export class LocalStorage implements ObjectStorage {
  readonly kind = 'local' as const;
  private readonly root: string;

  constructor(
    root: string,
    private readonly signingKey: Buffer,
    private readonly publicUrl: string,
  ) {
    this.root = resolve(root);
  }

  /** The file of a key, which must lie inside the root (keys are checked before, and again here). */
  private pathOf(key: string): string {
    const prefix = key.slice(0, Math.max(0, key.lastIndexOf('/')));
    const path = resolve(this.root, key);
    if (!isSafePrefix(prefix) || !path.startsWith(this.root + sep)) throw new Error(`unsafe storage key ${JSON.stringify(key)}`);
    return path;
  }

  async put(key: string, body: Readable): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    // Written beside and renamed: a reader never sees half a file.
    const temp = `${path}${TEMP_MARK}${randomBytes(6).toString('hex')}`;
    try {
      await pipeline(body, createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new ObjectMissing(key) : error;
    });
    return handle.createReadStream();
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      return { size: (await stat(this.pathOf(key))).size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async readStart(key: string, length: number): Promise<Buffer> {
    const handle = await open(this.pathOf(key), 'r').catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new ObjectMissing(key) : error;
    });
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async delete(keys: string[]): Promise<void> {
    await Promise.all(keys.map((key) => rm(this.pathOf(key), { force: true })));
  }

  async *list(prefix: string): AsyncIterable<{ key: string; lastModified: Date }> {
    const start = join(this.root, prefix);
    let entries;
    try {
      entries = await readdir(start, { recursive: true, withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      const key = relative(this.root, path).split(sep).join('/');
      yield { key, lastModified: (await stat(path)).mtime };
    }
  }

  async presignPost(key: string, policy: PostPolicy): Promise<PresignedPost> {
    const exp = Math.floor(Date.now() / 1000) + policy.expiresS;
    const token = signToken(this.signingKey, 'post', { exp, key, contentType: policy.contentType, maxBytes: policy.maxBytes });
    return { url: `${this.publicUrl}/api/files/local/uploads`, fields: { key, 'Content-Type': policy.contentType, policy: token } };
  }

  async signedGetUrl(key: string, options: SignedGet): Promise<string> {
    const exp = Math.floor(Date.now() / 1000) + options.expiresS;
    const token = signToken(this.signingKey, 'get', { exp, key, contentType: options.contentType, disposition: options.disposition });
    return `${this.publicUrl}/api/files/local/objects/${token}`;
  }

  /** The upload a presigned POST allows, or null when the token is forged, expired or for another key. */
  checkPost(token: string, fields: { key?: string; contentType?: string }): PostClaims | null {
    const claims = verifyToken<PostClaims>(this.signingKey, 'post', token);
    if (!claims || claims.key !== fields.key || claims.contentType !== fields.contentType) return null;
    return claims;
  }

  checkGet(token: string): GetClaims | null {
    return verifyToken<GetClaims>(this.signingKey, 'get', token);
  }

  /** The directory (or, before the first upload, the nearest folder it will be made in) is writable; nothing is written. */
  async ping(): Promise<void> {
    for (let path = this.root; ; path = dirname(path)) {
      try {
        await access(path, constants.W_OK);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(path) === path) throw error;
      }
    }
  }
}
