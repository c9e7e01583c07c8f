export type ErrorClass =
  | 'validation'
  | 'auth'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rate_limit'
  | 'database'
  | 'upstream'
  | 'unknown';

export interface FieldError {
  path: string;
  message: string;
}

interface AppErrorOptions {
  detail?: string;
  errors?: FieldError[];
  errorClass?: ErrorClass;
  headers?: Record<string, string>;
  extensions?: Record<string, unknown>;
  cause?: unknown;
  isOperational?: boolean;
  /** Its source logs the state behind it (once per change); the handler only counts it. */
  quiet?: boolean;
  condition?: string;
}

function classOf(status: number): ErrorClass {
  if (status === 401) return 'auth';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 429) return 'rate_limit';
  if (status >= 400 && status < 500) return 'validation';
  if (status === 502 || status === 503 || status === 504) return 'upstream';
  return 'unknown';
}

/**
 * The one error type of the API. `code` is stable SCREAMING_SNAKE for clients; `status`
 * is the HTTP status; operational errors are expected outcomes, the rest are bugs.
 */
export class AppError extends Error {
  readonly detail: string;
  readonly errors?: FieldError[];
  readonly errorClass: ErrorClass;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;
  readonly isOperational: boolean;
  readonly quiet: boolean;
  /**
   * A transient state of the service behind the error, as `group:state` (`database:read-only`,
   * `capacity:password-hashing`): logged and reported when it begins or changes, not per request.
   */
  readonly condition?: string;

  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    options: AppErrorOptions = {},
  ) {
    super(options.detail ?? title, { cause: options.cause });
    this.name = 'AppError';
    this.detail = options.detail ?? title;
    this.errors = options.errors;
    this.errorClass = options.errorClass ?? classOf(status);
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
    this.isOperational = options.isOperational ?? status < 500;
    this.quiet = options.quiet ?? false;
    this.condition = options.condition;
  }

  static badRequest(code: string, detail: string, errors?: FieldError[]): AppError {
    return new AppError(400, code, 'Bad request', { detail, errors });
  }

  static validation(errors: FieldError[]): AppError {
    return new AppError(400, 'VALIDATION_FAILED', 'Validation failed', {
      detail: 'The request has invalid or missing fields.',
      errors,
    });
  }

  static unauthorized(code = 'UNAUTHORIZED', detail = 'Authentication is required.'): AppError {
    return new AppError(401, code, 'Unauthorized', { detail, headers: { 'WWW-Authenticate': 'Bearer' } });
  }

  static forbidden(code = 'FORBIDDEN', detail = 'You are not allowed to do this.'): AppError {
    return new AppError(403, code, 'Forbidden', { detail });
  }

  static notFound(what = 'resource'): AppError {
    return new AppError(404, 'NOT_FOUND', 'Not found', { detail: `The ${what} was not found.` });
  }

  static conflict(code: string, detail: string): AppError {
    return new AppError(409, code, 'Conflict', { detail });
  }

  static rateLimited(retryAfterS: number): AppError {
    return new AppError(429, 'RATE_LIMITED', 'Too many requests', {
      detail: `Too many requests; retry after ${retryAfterS} s.`,
      headers: { 'Retry-After': String(retryAfterS) },
    });
  }

  static unavailable(code: string, detail: string, cause?: unknown): AppError {
    return new AppError(503, code, 'Service unavailable', { detail, cause, isOperational: true });
  }

  static internal(cause?: unknown): AppError {
    return new AppError(500, 'INTERNAL_ERROR', 'Internal server error', {
      detail: 'An unexpected error occurred.',
      cause,
      isOperational: false,
    });
  }
}
