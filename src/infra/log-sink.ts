/** Where log lines go: the process's stdout and stderr, or streams a test hands in. */
export interface LogStreams {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

type StreamName = keyof LogStreams;

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
    }
  }

  get dropped(): number {
    return this.droppedLines;
  }

  write(name: StreamName, line: string): void {
    const stream = this.streams[name] as NodeJS.WritableStream & { destroyed?: boolean };
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

/** The one sink of this process's stdout and stderr (error listeners are attached once). */
export function processLogSink(): LogSink {
  processSink ??= new LogSink();
  return processSink;
}
