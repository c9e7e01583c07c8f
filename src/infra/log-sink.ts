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

function asyncDestination(fd: number): NodeJS.WritableStream {
  return pino.destination({ fd, sync: false, maxLength: MAX_PENDING_BYTES }) as unknown as NodeJS.WritableStream;
}

/**
 * The one sink of this process's stdout and stderr (error listeners are attached once).
 * Writes are asynchronous (pino's sonic-boom destinations on file descriptors 1 and 2: a slow reader never
 * blocks a request, and what waits for it is bounded: past 16 MB, lines are dropped and counted).
 * Lines written while a write is in flight go out together in the next one, so under load one
 * write carries many lines; a quiet process writes each line at once. (Batching stdout further,
 * 4 KB or a second at a time, saved about 3 µs a line in isolation but nothing measurable per
 * request, and delayed lines that operators and tests wait for: not kept.) Whatever is still
 * buffered is written out when the process exits.
 */
export function processLogSink(): LogSink {
  if (!processSink) {
    const sink = new LogSink({ out: asyncDestination(1), err: asyncDestination(2) });
    process.once('exit', () => sink.flushSync());
    processSink = sink;
  }
  return processSink;
}
