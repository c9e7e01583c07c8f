import { PassThrough } from 'node:stream';
import { LogSink } from '../../src/infra/log-sink.js';

/** A log sink over in-memory streams, and what was written to each. */
export function captureLogs() {
  const out = new PassThrough();
  const err = new PassThrough();
  const text = { out: '', err: '' };
  out.on('data', (chunk: Buffer) => (text.out += chunk.toString()));
  err.on('data', (chunk: Buffer) => (text.err += chunk.toString()));
  return { sink: new LogSink({ out, err }), text };
}
