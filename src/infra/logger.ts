import { processLogSink, type LogSink } from './log-sink.js';

/**
 * A small structured logger: JSON lines in production, a readable line in development,
 * nothing in tests unless LOG_LEVEL asks. Callers pass only safe fields: never tokens,
 * passwords, cookies or session text.
 */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;

export type LogLevel = keyof typeof LEVELS;
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

function formatDev(level: string, message: string, fields: LogFields): string {
  const extras = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}${extras ? ` ${extras}` : ''}`;
}

export function createLogger(options: { level: LogLevel; format: 'dev' | 'json' }, sink: LogSink = processLogSink()): Logger {
  const threshold = LEVELS[options.level];
  const write = (level: Exclude<LogLevel, 'silent'>) => (message: string, fields: LogFields = {}) => {
    if (LEVELS[level] < threshold) return;
    const line =
      options.format === 'json'
        ? JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })
        : formatDev(level, message, fields);
    sink.write(level === 'error' || level === 'warn' ? 'err' : 'out', `${line}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** For errors in logs: name, message and stack, never the attached request or body. */
export function describeError(error: unknown): LogFields {
  if (error instanceof Error) return { error: error.name, message: error.message, stack: error.stack };
  return { error: String(error) };
}
