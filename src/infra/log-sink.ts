import { pino } from 'pino';

/** Where log lines go: the process's stdout and stderr, or streams a test hands in. */
export interface LogStreams {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

type StreamName = keyof LogStreams;

interface Flushable {
  flush?(callback: (error?: Error) => void): void;
  flushSync?(): void;
  destroyed?: boolean;
}

/**
 * Writes log lines and survives a log reader that goes away (a collector restarting,
 * `npm start | head`). A stream that fails (EPIPE and the like) is never written again:
 * its lines are dropped and counted, and one notice goes to the other stream if that one
 * still works. The error path itself never logs, so a broken sink cannot feed on itself
 * and the process keeps serving and answering SIGTERM.
 */
export class LogSink {
  private readonly broken = new Set<StreamName>();
  private droppedLines = 0;

  constructor(private readonly streams: LogStreams = { out: process.stdout, err: process.stderr }) {
    for (const name of ['out', 'err'] as const) {
      streams[name].on('error', (error: NodeJS.ErrnoException) => this.fail(name, error));
      streams[name].on('drop', () => (this.droppedLines += 1)); // a destination that bounds what it holds for a slow reader
    }
  }

  get dropped(): number {
    return this.droppedLines;
  }

  write(name: StreamName, line: string): void {
    const stream = this.streams[name] as NodeJS.WritableStream & Flushable;
    if (this.broken.has(name) || stream.destroyed) {
      this.droppedLines += 1;
      return;
    }
    try {
      stream.write(line);
    } catch (error) {
      this.fail(name, error as NodeJS.ErrnoException);
      this.droppedLines += 1;
    }
  }

  /** Hands what the streams buffered to the operating system; a broken stream is skipped. */
  async flush(): Promise<void> {
    await Promise.all(
      (['out', 'err'] as const).map(
        (name) =>
          new Promise<void>((resolve) => {
            const stream = this.streams[name] as NodeJS.WritableStream & Flushable;
            if (this.broken.has(name) || stream.destroyed || !stream.flush) return resolve();
            try {
              stream.flush(() => resolve());
            } catch {
              resolve();
            }
          }),
      ),
    );
  }

  /** The same, synchronously: for the moment the process exits. */
  flushSync(): void {
    for (const name of ['out', 'err'] as const) {
      const stream = this.streams[name] as NodeJS.WritableStream & Flushable;
      if (this.broken.has(name) || stream.destroyed || !stream.flushSync) continue;
      try {
        stream.flushSync();
      } catch {
        this.broken.add(name); // the reader is gone; nothing more to write there
      }
    }
  }

  private fail(name: StreamName, error: NodeJS.ErrnoException): void {
    if (this.broken.has(name)) return;
    this.broken.add(name);
    const other: StreamName = name === 'out' ? 'err' : 'out';
    const label = name === 'out' ? 'stdout' : 'stderr';
    if (this.broken.has(other)) return;
    try {
      this.streams[other].write(`log output to ${label} failed (${error.code ?? error.message}); its lines are dropped from now on\n`);
    } catch {
      this.broken.add(other); // nothing left to tell; keep serving
    }
  }
}

let processSink: LogSink | undefined;

/** Lines beyond this many bytes waiting for a slow reader are dropped (and counted), not kept. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;
/** stdout is written in batches of at least this many bytes, or every FLUSH_MS, whichever comes first. */
const BATCH_BYTES = 4096;
const FLUSH_MS = 1000;

function asyncDestination(fd: number, batched: boolean): NodeJS.WritableStream {
  return pino.destination({ fd, sync: false, maxLength: MAX_PENDING_BYTES, ...(batched && { minLength: BATCH_BYTES, periodicFlush: FLUSH_MS }) }) as unknown as NodeJS.WritableStream;
}

/**
 * The one sink of this process's stdout and stderr (error listeners are attached once).
 * Writes are asynchronous (pino's sonic-boom destinations on file descriptors 1 and 2: a slow reader never
 * blocks a request). stdout, where the access lines go, is written in batches (one write for
 * dozens of lines under load, and a line waits at most a second when it is quiet); warnings
 * and errors on stderr go out at once. Whatever is still buffered is written out when the
 * process exits.
 */
export function processLogSink(): LogSink {
  if (!processSink) {
    const sink = new LogSink({ out: asyncDestination(1, true), err: asyncDestination(2, false) });
    process.once('exit', () => sink.flushSync());
    processSink = sink;
  }
  return processSink;
}
