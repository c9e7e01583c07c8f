import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Role } from '../models/user.model.js';
import { requestMeta, type RequestMeta } from './request-meta.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Who may call a route, as data: `authenticate` has run before every route, so these only
 * read `req.auth` (and `req.serviceToken` for the monitoring and metrics tokens).
 */
export type AccessSpec = 'public' | 'authenticated' | 'monitoring' | 'metrics' | { roles: readonly Role[] };

/** The caller of an authenticated route: who they are and which login session they use. */
export interface Actor {
  userId: string;
  role: Role;
  sessionId: string;
}

/** What a verified access token says (`req.auth`). */
export interface AccessClaims extends Actor {
  expiresAt: number;
  /** A session of a role that requires a second factor, opened without one: it may only enrol one. */
  enrolmentOnly: boolean;
}

export interface RequestSchemas {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
}

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;

export interface RouteInput<S extends RequestSchemas> {
  params: Out<S['params']>;
  query: Out<S['query']>;
  body: Out<S['body']>;
}

export interface HandlerContext<A extends AccessSpec, S extends RequestSchemas> {
  input: RouteInput<S>;
  /** The signed-in caller; possibly absent only on public, monitoring and metrics routes. */
  actor: A extends 'public' | 'monitoring' | 'metrics' ? Actor | undefined : Actor;
  /** Client address and user agent, for security events and login sessions. */
  meta: RequestMeta;
  /** For what only HTTP has: cookies, extra headers. Services never see these. */
  req: Request;
  res: Response;
}

/** A success answer whose status or headers are decided at run time (an idempotent replay, say). */
export class Reply<T = unknown> {
  constructor(
    readonly status: number,
    readonly body: T,
    readonly headers: Record<string, string> = {},
  ) {}
}

export interface ResponseSpec<R extends z.ZodType | undefined> {
  status: number;
  description: string;
  /** The JSON body; absent for 204 and for routes that write their own body (HTML, scripts). */
  schema?: R;
  /** `Cache-Control` of the success answer when it is not the pipeline's `no-store`. */
  cacheControl?: string;
  /** For a body that is not JSON (the docs page and its script), written by the handler. */
  contentType?: string;
}

export interface RouteSpec<A extends AccessSpec, S extends RequestSchemas, R extends z.ZodType | undefined> {
  method: HttpMethod;
  /** Relative to the module's mount point, in Express form (`/:id/entries`). */
  path: string;
  access: A;
  summary: string;
  description?: string;
  /** The OpenAPI tag; modules give a default. */
  tag?: string;
  request?: S;
  response: ResponseSpec<R>;
  /** The JSON body limit of this route, never above BODY_LIMIT. */
  bodyLimit?: string;
  /** Routes that take a credential or send mail also count in the auth tier. */
  rateLimit?: 'auth';
  /**
   * Open to an enrolment-only session too (a role that requires a second factor, signed in
   * without one): the routes that enrol a factor, and who-am-I and logout. Every other
   * authenticated route answers such a session 403 MFA_ENROLMENT_REQUIRED.
   */
  duringEnrolment?: true;
  /**
   * A sensitive action: the caller's login session must have authenticated within the last
   * 5 minutes (sign-in or POST /api/auth/reauthenticate), else 401 REAUTHENTICATION_REQUIRED.
   */
  stepUp?: true;
  /**
   * Open to a person who has not accepted the current versions of the documents in force
   * (CONSENT_DOCUMENTS): the consent routes, export, deletion (with its reauthentication),
   * who-am-I and the caller's own login sessions. Every other authenticated route answers
   * them 403 CONSENT_REQUIRED.
   */
  withoutConsent?: true;
  /** Request headers worth documenting (the OpenAPI document lists them). */
  headers?: { name: string; description: string }[];
}

type ResponseBody<R> = R extends z.ZodType ? z.input<R> : void;
export type Handler<A extends AccessSpec, S extends RequestSchemas, R extends z.ZodType | undefined> = (
  context: HandlerContext<A, S>,
) => ResponseBody<R> | Reply<ResponseBody<R>> | Promise<ResponseBody<R> | Reply<ResponseBody<R>>>;

/** One endpoint: its declaration (the single source for routing, access, validation, docs) and its handler. */
export interface RouteDefinition {
  spec: RouteSpec<AccessSpec, RequestSchemas, z.ZodType | undefined>;
  handler: (context: HandlerContext<AccessSpec, RequestSchemas>) => unknown;
}

/**
 * Declares an endpoint: `route({ method, path, access, request, response, summary }, handler)`.
 * The handler gets validated, typed `input` and the `actor`, and returns the body (or a Reply).
 */
export function route<const A extends AccessSpec, S extends RequestSchemas = Record<never, never>, R extends z.ZodType | undefined = undefined>(
  spec: RouteSpec<A, S, R>,
  handler: Handler<A, S, R>,
): RouteDefinition {
  return { spec, handler } as unknown as RouteDefinition;
}

export function contextOf(req: Request, res: Response, input: RouteInput<RequestSchemas>): HandlerContext<AccessSpec, RequestSchemas> {
  const actor = req.auth ? { userId: req.auth.userId, role: req.auth.role, sessionId: req.auth.sessionId } : undefined;
  return { input, actor: actor as Actor, meta: requestMeta(req), req, res };
}
