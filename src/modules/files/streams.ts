import { PassThrough, pipeline, Transform, type Readable } from 'node:stream';

/**
 * The first `length` bytes of a stream, and a stream of the whole (those bytes, then the
 * rest): content is checked before anything is stored, without buffering the file.
 */
export async function peek(source: Readable, length: number): Promise<{ head: Buffer; whole: Readable }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const chunk = source.read() as Buffer | null;
    if (chunk) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= length) break;
      continue;
    }
    if (source.readableEnded) break;
    const ended = await new Promise<boolean>((resolve, reject) => {
      const onReadable = () => done(false);
      const onEnd = () => done(true);
      const onError = (error: Error) => {
        cleanup();
        reject(error);
      };
      const cleanup = () => {
        source.off('readable', onReadable);
        source.off('end', onEnd);
        source.off('error', onError);
      };
      const done = (value: boolean) => {
        cleanup();
        resolve(value);
      };
      source.on('readable', onReadable);
      source.on('end', onEnd);
      source.on('error', onError);
    });
    if (ended) break;
  }
  const buffered = Buffer.concat(chunks);
  const whole = new PassThrough();
  if (source.readableEnded) {
    whole.end(buffered);
  } else {
    whole.write(buffered);
    pipeline(source, whole, () => undefined); // an error of the source destroys `whole` too
  }
  return { head: buffered.subarray(0, length), whole };
}

/** Counts the bytes passing through. */
export function byteCounter(): Transform & { bytes: number } {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      counter.bytes += chunk.length;
      done(null, chunk);
    },
  }) as Transform & { bytes: number };
  counter.bytes = 0;
  return counter;
}
