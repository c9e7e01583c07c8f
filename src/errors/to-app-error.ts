import {
  BaseError as SequelizeBaseError,
  ConnectionError,
  DatabaseError,
  ForeignKeyConstraintError,
  TimeoutError,
  UniqueConstraintError,
  ValidationError as SequelizeValidationError,
} from 'sequelize';
import { ZodError } from 'zod';
import { CapacityError } from '../infra/work-limiter.js';
import { AppError } from './app-error.js';

/** What body-parser (used by express.json) attaches to the errors it raises. */
interface HttpParserError {
  type: string;
  status: number;
}

function isParserError(error: unknown): error is HttpParserError {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as HttpParserError).type === 'string' &&
    typeof (error as HttpParserError).status === 'number'
  );
}

export function zodToAppError(error: ZodError, prefix = ''): AppError {
  return AppError.validation(
    error.issues.map((issue) => ({
      path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
      message: issue.message,
    })),
  );
}

function fromParser(error: HttpParserError): AppError {
  switch (error.type) {
    case 'entity.too.large':
      return new AppError(413, 'PAYLOAD_TOO_LARGE', 'Payload too large', {
        detail: 'The request body is larger than this endpoint accepts.',
      });
    case 'entity.parse.failed':
      return AppError.badRequest('MALFORMED_JSON', 'The request body is not valid JSON.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type', {
        detail: 'Send JSON encoded as UTF-8.',
      });
    case 'request.aborted':
    case 'request.size.invalid':
      return AppError.badRequest('BAD_REQUEST_BODY', 'The request body was incomplete.');
    default:
      return error.status >= 400 && error.status < 500
        ? AppError.badRequest('BAD_REQUEST', 'The request could not be read.')
        : AppError.internal(error);
  }
}

const NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH']);
const LOST = /connection terminated|not queryable|connection (?:was )?closed|server closed the connection/i;

/** PostgreSQL states (SQLSTATE) that pass by themselves, with the detail a client is told. */
const TRANSIENT_STATES: Record<string, { state: string; detail: string }> = {
  '25006': { state: 'read-only', detail: 'The database accepts no writes right now (a failover may be in progress); try again shortly.' },
  '57P01': { state: 'shutting-down', detail: 'The database is restarting; try again shortly.' }, // admin_shutdown
  '57P02': { state: 'shutting-down', detail: 'The database is restarting; try again shortly.' }, // crash_shutdown
  '57P03': { state: 'starting', detail: 'The database is starting up; try again shortly.' }, // cannot_connect_now
  '53300': { state: 'too-many-connections', detail: 'The database has no free connection right now; try again shortly.' },
};
const UNREACHABLE = { state: 'unreachable', detail: 'The database is not reachable right now; try again shortly.' };

function driverCode(error: Error): string {
  const original = (error as Error & { original?: { code?: unknown } }).original ?? error;
  const code = (original as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

function driverMessage(error: Error): string {
  const original = (error as Error & { original?: { message?: unknown } }).original;
  return String(original?.message ?? error.message);
}

/**
 * A transient database state rather than a bug: read-only (a failover), shutting down or
 * starting, out of connections, or the connection gone under a query (08xxx, ECONNRESET,
 * "Connection terminated unexpectedly"). Undefined for anything else.
 */
function transientState(error: unknown): { state: string; detail: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = driverCode(error);
  if (TRANSIENT_STATES[code]) return TRANSIENT_STATES[code];
  if (NETWORK_CODES.has(code) || /^08/.test(code) || LOST.test(driverMessage(error))) return UNREACHABLE;
  return undefined;
}

function databaseUnavailable(cause: unknown, transient = UNREACHABLE): AppError {
  return new AppError(503, 'DATABASE_UNAVAILABLE', 'Service unavailable', {
    detail: transient.detail,
    errorClass: 'database',
    headers: { 'Retry-After': '5' },
    cause,
    isOperational: true,
    condition: `database:${transient.state}`,
  });
}

function fromSequelize(error: SequelizeBaseError): AppError {
  if (error instanceof ConnectionError || error instanceof TimeoutError) return databaseUnavailable(error, transientState(error));
  if (error instanceof UniqueConstraintError) {
    return new AppError(409, 'CONFLICT', 'Conflict', {
      detail: 'The resource already exists.',
      cause: error,
    });
  }
  if (error instanceof ForeignKeyConstraintError) {
    return new AppError(409, 'REFERENCE_CONFLICT', 'Conflict', {
      detail: 'The request refers to something that does not exist or is still in use.',
      cause: error,
    });
  }
  if (error instanceof SequelizeValidationError) {
    return AppError.validation(error.errors.map((item) => ({ path: item.path ?? '', message: item.message })));
  }
  const transient = error instanceof DatabaseError ? transientState(error) : undefined;
  if (transient) return databaseUnavailable(error, transient);
  return new AppError(500, 'DATABASE_ERROR', 'Internal server error', {
    detail: 'An unexpected error occurred.',
    errorClass: 'database',
    cause: error,
    isOperational: false,
  });
}

/**
 * Other errors that Express and its parsers raise about the request itself carry a 4xx
 * `status` (a path parameter that does not decode, a body that does not decompress).
 */
function clientErrorStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/** The one converter: whatever was thrown becomes an AppError the handler can answer with. */
/** Lack of capacity (a full WorkLimiter): the same answer for every caller. */
export function busy(resource = 'work'): AppError {
  return new AppError(503, 'BUSY', 'Service unavailable', {
    detail: 'The server is busy; retry in a second.',
    errorClass: 'rate_limit',
    headers: { 'Retry-After': '1' },
    isOperational: true,
    condition: `capacity:${resource}`,
  });
}

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof CapacityError) return busy(error.resource);
  if (error instanceof ZodError) return zodToAppError(error);
  if (error instanceof SequelizeBaseError) return fromSequelize(error);
  if (isParserError(error)) return fromParser(error);
  // The pg driver can also throw plain errors when its connection dies under a query.
  const transient = transientState(error);
  if (transient) return databaseUnavailable(error, transient);
  const status = clientErrorStatus(error);
  if (status === 404) return AppError.notFound();
  if (status !== undefined) return AppError.badRequest('BAD_REQUEST', 'The request could not be read.');
  return AppError.internal(error);
}
