import type { Request, Response } from 'express';
import type { Logger } from '../infra/logger.js';
import { describeError } from '../infra/logger.js';
import type { AppError } from './app-error.js';
import { ConditionLog } from './condition-log.js';
import { ErrorStats } from './error-stats.js';
import { problemBody } from './problem.js';
import { toAppError } from './to-app-error.js';

export type ErrorReporter = (error: AppError, context: { requestId?: string; route: string }) => void;

/** The route pattern of a request (`/api/sessions/:id`), never its concrete path. */
function routeOf(req: Request): string {
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  return typeof pattern === 'string' ? `${req.baseUrl}${pattern}` : '(unmatched)';
}

/**
 * One handler for every error: Express requests, unhandled rejections and uncaught
 * exceptions. It classifies, counts, logs, reports 5xx and writes a safe problem body.
 */
export class ErrorHandler {
  readonly stats = new ErrorStats();
  private readonly reporters: ErrorReporter[] = [];
  private readonly conditions = new ConditionLog();

  constructor(
    private readonly logger: Logger,
    private readonly options: { exposeDebug: boolean },
  ) {}

  addReporter(reporter: ErrorReporter): void {
    this.reporters.push(reporter);
  }

  handleRequestError(error: unknown, req: Request, res: Response): void {
    const appError = toAppError(error);
    const route = routeOf(req);
    this.record(appError, { requestId: req.id, method: req.method, route });

    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(appError.status).set(appError.headers).type('application/problem+json');
    res.send(JSON.stringify(problemBody(appError, req.id, this.options.exposeDebug)));
  }

  /** For `unhandledRejection` and `uncaughtException`: count and log; the caller decides to exit. */
  handleProcessError(error: unknown, origin: string): void {
    this.record(toAppError(error), { route: `(process:${origin})` });
  }

  private record(error: AppError, context: { requestId?: string; method?: string; route: string }): void {
    this.stats.record({
      at: new Date().toISOString(),
      requestId: context.requestId,
      status: error.status,
      code: error.code,
      errorClass: error.errorClass,
      method: context.method,
      route: context.route,
    });
    const fields = { requestId: context.requestId, status: error.status, code: error.code, route: context.route };
    if (error.condition !== undefined && !this.conditions.isNew(error.condition)) {
      this.logger.debug('request failed', { ...fields, condition: error.condition }); // logged when it began
      return;
    }
    if (error.status >= 500) {
      if (error.quiet) {
        this.logger.debug('request failed', fields);
        return; // the state behind it was logged (and is visible in /health/ready) where it changed
      }
      // A transient condition (a failover, hashing saturated) is one warning per change; an
      // expected outage is a warning; a bug gets its stack.
      if (error.condition !== undefined) {
        this.logger.warn(`${error.condition}: answering ${error.status} ${error.code} until it passes (logged once per change)`, { ...fields, message: error.detail });
      } else if (error.isOperational) this.logger.warn('request failed', { ...fields, message: error.detail });
      else this.logger.error('request failed', { ...fields, ...describeError(error.cause ?? error) });
      for (const report of this.reporters) {
        try {
          report(error, context);
        } catch (reportError) {
          this.logger.warn('error reporter failed', describeError(reportError));
        }
      }
    } else {
      this.logger.debug('request refused', fields);
    }
  }
}
