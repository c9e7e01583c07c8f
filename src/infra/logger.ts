import { createRequire } from 'node:module';
import { pino, type DestinationStream } from 'pino';
import { processLogSink, type LogSink } from './log-sink.js';
import { currentRequestId } from './request-context.js';

/**
 * The application's logger, on pino: JSON lines in production, a readable line in
 * development, nothing in tests unless LOG_LEVEL asks. Writes never block (see
 * processLogSink); known secret fields are redacted whatever a caller passes, and a line
 * written while a request is handled carries its request id.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** The logger of a process's output: the same calls, and the flush that shutdown awaits. */
export interface AppLogger extends Logger {
  flush(): Promise<void>;
}

export interface LogOptions {
  level: LogLevel;
  format: 'dev' | 'json';
}

/** Field names whose values never reach a log line, at the top level or one level down. */
const SECRET_FIELDS = new Set([
  'authorization',
  'cookie',
  'cookies',
  'set-cookie',
  'password',
  'currentPassword',
  'newPassword',
  'token',
  'accessToken',
  'refreshToken',
  'monitoringToken',
  'secret',
  'text',
  'comment',
]);
const CENSOR = '[redacted]';

/** A plain record of fields (not an array or a buffer, whose indices are no field names). */
const isRecord = (value: unknown): value is LogFields => value !== null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value);

/** The value at each secret key of `fields` censored; the same object when there is none (no copy on the common path). */
function censorKeys(fields: LogFields, deeper: (value: LogFields) => LogFields): LogFields {
  let copy: LogFields | undefined;
  for (const key in fields) {
    const value = fields[key];
    const replacement = SECRET_FIELDS.has(key) ? CENSOR : isRecord(value) ? deeper(value) : value;
    if (replacement !== value) (copy ??= { ...fields })[key] = replacement;
  }
  return copy ?? fields;
}

const noDeeper = (value: LogFields) => value;
/** One level down, and the headers of a `req` or `res` object (`req.headers.authorization`). */
const oneLevelDown = (value: LogFields) => censorKeys(value, (inner) => (inner === value.headers ? censorKeys(inner, noDeeper) : inner));

/**
 * The fields as they may be written: every secret key at the top level or one level down
 * (and in a request's or response's headers) censored, never the caller's object changed.
 * A walk over the keys a line has, a fraction of a microsecond for an access line, where
 * pino's path-based redaction of the same names cost about 12 µs per line.
 */
export function redactFields(fields: LogFields): LogFields {
  return censorKeys(fields, oneLevelDown);
}

const STDERR_FROM = 40; // warn and error go to stderr, as operators expect

// Control characters (a newline above all) in a message must not start a forged line.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/g;
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (char) => JSON.stringify(char).slice(1, -1));
}

type LineFormat = (line: string) => string;

/** `12:00:00.000 INFO  message key=value ...`: values that are not plain words are JSON-quoted. */
export function readableLine(line: string): string {
  const { time, level, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
  const extras = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' && /^[\w./:@-]*$/.test(value) ? value : JSON.stringify(value)}`)
    .join(' ');
  const clock = typeof time === 'string' ? time.slice(11, 23) : '';
  return `${clock} ${String(level).toUpperCase().padEnd(5)} ${escapeControl(String(msg ?? ''))}${extras ? ` ${extras}` : ''}\n`;
}

/** pino-pretty when it is installed (a development dependency), else the readable line above. */
function devFormat(): LineFormat {
  try {
    const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    const pretty = prettyFactory({
      colorize: false,
      singleLine: true,
      ignore: 'pid,hostname',
      errorLikeObjectKeys: [], // our `error` field is a name, printed inline like any other
      translateTime: 'SYS:HH:MM:ss.l',
      messageFormat: (log, key) => escapeControl(String(log[key] ?? '')),
    });
    return (line) => pretty(line);
  } catch {
    return readableLine;
  }
}

/** Routes each line by its level (pino hands the level to streams that ask for metadata). */
function sinkStream(sink: LogSink, format?: LineFormat): DestinationStream {
  const stream = {
    [Symbol.for('pino.metadata')]: true,
    lastLevel: 0,
    write(line: string) {
      sink.write(stream.lastLevel >= STDERR_FROM ? 'err' : 'out', format ? format(line) : line);
    },
  };
  return stream;
}

/** pino's ISO timestamp, formatted once per millisecond however many lines it carries. */
function isoTimeOncePerMillisecond(): () => string {
  let at = 0;
  let field = '';
  return () => {
    const now = Date.now();
    if (now !== at) {
      at = now;
      field = `,"time":"${new Date(now).toISOString()}"`;
    }
    return field;
  };
}

export function createLogger(options: LogOptions, sink?: LogSink): AppLogger {
  const silent = options.level === 'silent';
  const destination = silent ? { write: () => undefined } : sinkStream(sink ?? processLogSink(), options.format === 'dev' ? devFormat() : undefined);
  const root = pino(
    {
      level: options.level,
      base: undefined,
      timestamp: isoTimeOncePerMillisecond(),
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  const write = (level: Exclude<LogLevel, 'silent'>) =>
    function log(message: string, fields: LogFields = {}) {
      if (!root.isLevelEnabled(level)) return;
      const requestId = currentRequestId();
      root[level](redactFields(requestId && fields.requestId === undefined ? { requestId, ...fields } : fields), message);
    };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    flush: () => (silent ? Promise.resolve() : (sink ?? processLogSink()).flush()),
  };
}

/** For errors in logs: name, message and stack, never the attached request or body. */
export function describeError(error: unknown): LogFields {
  if (error instanceof Error) return { error: error.name, message: error.message, stack: error.stack };
  return { error: String(error) };
}
