import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * Attachments at rest: AES-256-GCM in chunks under the file's own random key (which is
 * stored encrypted under the data key). An object is `CFE1 | nonce prefix (8) | frames`,
 * each frame a chunk of at most 64 KiB plaintext, sealed with the IV `prefix | counter` and
 * associated data binding it to the file, its position and whether it is the last one, so
 * frames can be neither reordered, moved to another file nor cut off. Memory stays at one
 * chunk whatever the file's size.
 */
const MAGIC = Buffer.from('CFE1');
const CHUNK = 64 * 1024;
const TAG = 16;
const FRAME = CHUNK + TAG;
const HEADER = MAGIC.length + 8;

export const newFileKey = (): Buffer => randomBytes(32);

function ivOf(prefix: Buffer, counter: number): Buffer {
  const iv = Buffer.alloc(12);
  prefix.copy(iv, 0);
  iv.writeUInt32BE(counter, 8);
  return iv;
}

function aadOf(fileId: string, counter: number, last: boolean): Buffer {
  return Buffer.from(`${fileId}:${counter}:${last ? 'last' : 'more'}`);
}

/** The stored size of `plaintextSize` bytes. */
export function ciphertextSize(plaintextSize: number): number {
  const frames = Math.floor(plaintextSize / CHUNK) + 1;
  return HEADER + plaintextSize + frames * TAG;
}

export function encryptStream(key: Buffer, fileId: string): Transform {
  const prefix = randomBytes(8);
  let pending = Buffer.alloc(0);
  let counter = 0;
  const seal = (chunk: Buffer, last: boolean) => {
    const cipher = createCipheriv('aes-256-gcm', key, ivOf(prefix, counter));
    cipher.setAAD(aadOf(fileId, counter, last));
    counter += 1;
    return Buffer.concat([cipher.update(chunk), cipher.final(), cipher.getAuthTag()]);
  };
  let started = false;
  return new Transform({
    transform(data: Buffer, _encoding, done: TransformCallback) {
      if (!started) {
        this.push(Buffer.concat([MAGIC, prefix]));
        started = true;
      }
      pending = Buffer.concat([pending, data]);
      // Keep the last chunk back: only at the end is it known to be the last.
      while (pending.length > CHUNK) {
        this.push(seal(pending.subarray(0, CHUNK), false));
        pending = pending.subarray(CHUNK);
      }
      done();
    },
    flush(done: TransformCallback) {
      if (!started) this.push(Buffer.concat([MAGIC, prefix]));
      this.push(seal(pending, true));
      done();
    },
  });
}

export function decryptStream(key: Buffer, fileId: string): Transform {
  let buffered = Buffer.alloc(0);
  let prefix: Buffer | undefined;
  let counter = 0;
  const open = (frame: Buffer, last: boolean) => {
    if (frame.length < TAG) throw new Error('attachment ciphertext is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, ivOf(prefix!, counter));
    decipher.setAAD(aadOf(fileId, counter, last));
    decipher.setAuthTag(frame.subarray(frame.length - TAG));
    counter += 1;
    return Buffer.concat([decipher.update(frame.subarray(0, frame.length - TAG)), decipher.final()]);
  };
  return new Transform({
    transform(data: Buffer, _encoding, done: TransformCallback) {
      try {
        buffered = Buffer.concat([buffered, data]);
        if (!prefix) {
          if (buffered.length < HEADER) return done();
          if (!buffered.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not an encrypted attachment');
          prefix = Buffer.from(buffered.subarray(MAGIC.length, HEADER));
          buffered = buffered.subarray(HEADER);
        }
        while (buffered.length > FRAME) {
          this.push(open(buffered.subarray(0, FRAME), false));
          buffered = buffered.subarray(FRAME);
        }
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        if (!prefix) throw new Error('attachment ciphertext is truncated');
        this.push(open(buffered, true));
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
}
