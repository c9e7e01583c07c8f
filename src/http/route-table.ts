import { Router, type Request, type RequestHandler, type Response } from 'express';
import { match } from 'path-to-regexp';
import { AppError } from '../errors/app-error.js';
import { accessGuard } from '../middleware/authorize.js';
import { steps } from '../middleware/steps.js';
import { parseInput } from '../middleware/validate.js';
import { contextOf, Reply, type Actor, type HttpMethod, type RouteDefinition } from './route.js';

/** What a module's mount gives all its routes. */
export interface ModuleDefaults {
  bodyLimit?: string;
  tag?: string;
  /** Middleware of the module's router before its routes: cookie parsing, static files. */
  use?: { path?: string; handler: RequestHandler }[];
}

/** A declared route where it is served: the full path (`/api/sessions/:id`) and its declaration. */
export interface MountedRoute {
  method: HttpMethod;
  path: string;
  spec: RouteDefinition['spec'];
}

export interface RouteTableOptions {
  /** The auth rate-limit tier, for routes that declare `rateLimit: 'auth'`. */
  authLimit: RequestHandler;
  /** Development and tests check every success body against its declared schema. */
  checkResponses: boolean;
  /** For routes that declare `stepUp`: throws unless the caller's session authenticated recently. */
  recentAuthentication?: (actor: Actor) => Promise<void>;
  /** For signed-in callers of routes that do not declare `withoutConsent`: throws unless they accepted what is in force. */
  consentGiven?: (userId: string) => Promise<void>;
}

/** Names the matched route on the request before its guards run, so metrics count refusals under it. */
function markRoute(template: string): RequestHandler {
  return function matchedRoute(req, _res, next) {
    req.routeTemplate = template;
    next();
  };
}

function joinPath(prefix: string, path: string): string {
  const joined = `${prefix}${path === '/' ? '' : path}`;
  return joined === '' ? '/' : joined;
}

/**
 * Every endpoint of the app, built from the route declarations: the Express routers, and
 * what the pipeline and the documentation read from the same declarations (body limits,
 * the OpenAPI document, the authorization matrix).
 */
export class RouteTable {
  private readonly mounted: (MountedRoute & { matches: (path: string) => boolean })[] = [];
  /** Module defaults by mount prefix, longest first: for paths under a module that match no route. */
  private readonly prefixLimits: { prefix: string; bodyLimit: string }[] = [];

  constructor(private readonly options: RouteTableOptions) {}

  get routes(): MountedRoute[] {
    return this.mounted.map(({ method, path, spec }) => ({ method, path, spec }));
  }

  /**
   * An Express router for one module's routes, to be mounted at `prefix`, with the module's
   * defaults for routes that do not declare their own.
   */
  router(prefix: string, definitions: RouteDefinition[], defaults: ModuleDefaults = {}): Router {
    const router = Router();
    for (const { path, handler } of defaults.use ?? []) {
      if (path) router.use(path, handler);
      else router.use(handler);
    }
    if (prefix !== '' && defaults.bodyLimit) {
      this.prefixLimits.push({ prefix, bodyLimit: defaults.bodyLimit });
      this.prefixLimits.sort((a, b) => b.prefix.length - a.prefix.length);
    }
    for (const declared of definitions) {
      const spec = { ...declared.spec, bodyLimit: declared.spec.bodyLimit ?? defaults.bodyLimit, tag: declared.spec.tag ?? defaults.tag };
      const definition = { ...declared, spec };
      const path = joinPath(prefix, spec.path);
      const matcher = match(path, { decode: false });
      this.mounted.push({ method: spec.method, path, spec, matches: (candidate) => matcher(candidate) !== false });
      const before = [
        ...(spec.rateLimit === 'auth' ? [this.options.authLimit] : []),
        ...accessGuard(spec.access, { duringEnrolment: spec.duringEnrolment }),
        ...(spec.access !== 'public' && !spec.withoutConsent && this.options.consentGiven ? [this.consentGuard(this.options.consentGiven)] : []),
        ...(spec.stepUp ? [this.stepUpGuard()] : []),
      ];
      const verb = spec.method.toLowerCase() as Lowercase<HttpMethod>;
      // One route layer runs the marker, the guards and the handler in order (see steps).
      router[verb](spec.path, steps(markRoute(path), ...before, this.handle(definition, `${spec.method} ${path}`)));
    }
    return router;
  }

  /** The body limit of the route a request is for, else of the module whose prefix it is under. */
  bodyLimitFor(method: string, path: string): string | undefined {
    const route = this.mounted.find((candidate) => candidate.method === method && candidate.matches(path));
    if (route?.spec.bodyLimit) return route.spec.bodyLimit;
    return this.prefixLimits.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`))?.bodyLimit;
  }

  private consentGuard(consentGiven: (userId: string) => Promise<void>): RequestHandler {
    return async function requireConsent(req, _res, next) {
      if (req.auth) await consentGiven(req.auth.userId); // a monitoring or metrics token is no person
      next();
    };
  }

  private stepUpGuard(): RequestHandler {
    const { recentAuthentication } = this.options;
    if (!recentAuthentication) throw new Error('a route declares stepUp, but the route table has no recentAuthentication check');
    return async function requireRecentAuthentication(req, _res, next) {
      await recentAuthentication({ userId: req.auth!.userId, role: req.auth!.role, sessionId: req.auth!.sessionId });
      next();
    };
  }

  private handle(definition: RouteDefinition, name: string): RequestHandler {
    const { spec, handler } = definition;
    const { checkResponses } = this.options;
    function send(res: Response, result: unknown): void {
      if (res.headersSent) return; // the handler wrote its own answer (a page, a script)
      const reply = result instanceof Reply ? result : new Reply(spec.response.status, result);
      if (checkResponses) assertDeclared(spec, reply, name);
      res.status(reply.status).set(reply.headers);
      if (spec.response.cacheControl) res.set('Cache-Control', spec.response.cacheControl);
      if (reply.body === undefined) res.end();
      else res.json(reply.body);
    }
    // A handler that answers at once (liveness, the index) is answered without a promise.
    return function handleRoute(req: Request, res: Response) {
      const input = parseInput(req, spec.request ?? {});
      const result = handler(contextOf(req, res, input));
      if (result instanceof Promise) return result.then((value: unknown) => send(res, value));
      send(res, result);
    };
  }
}

/** A handler that returns something other than it declares is a bug: found in development and tests. */
function assertDeclared(spec: RouteDefinition['spec'], reply: Reply, name: string): void {
  const { schema } = spec.response;
  if (!schema) {
    if (reply.body !== undefined) throw AppError.internal(new Error(`${name} declares no response body but returned one`));
    return;
  }
  const parsed = schema.safeParse(reply.body);
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
    throw AppError.internal(new Error(`${name} returned a body that does not match its response schema: ${where}`));
  }
}
