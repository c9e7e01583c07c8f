import type { RawData } from 'ws';
import type { Config } from '../../config/env.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { AccessClaims, Actor } from '../../http/route.js';
import { describeError, type Logger } from '../../infra/logger.js';
import { runWithRequestId } from '../../infra/request-context.js';
import type { SessionChange, SessionsModule } from '../sessions/index.js';
import type { BusMessage, LiveBus } from './live-bus.js';
import type { LiveConnection } from './live-connection.js';
import { CLOSE, clientMessage, type ClientMessage } from './live.schemas.js';
import { Followers } from './live-followers.js';
import type { RefusalReason } from './refusals.js';

/** A socket follows at most this many sessions at once. */
const MAX_SUBSCRIPTIONS = 10;

export type LiveEvent = 'message_in' | 'message_out';

export interface ChannelDeps {
  settings: Config['live'];
  logger: Logger;
  bus: LiveBus;
  verifyBearer: (token: string, meta: RequestMeta) => Promise<AccessClaims>;
  isSessionActive: (sessionId: string) => Promise<boolean>;
  /** Throws unless the account accepted the documents in force (the REST routes' consent gate). */
  consentGiven: (userId: string) => Promise<void>;
  sessions: SessionsModule['live'];
  refused: (reason: RefusalReason, meta: RequestMeta, userId?: string) => void;
  observe: (event: LiveEvent) => void;
}

const errorFrame = (error: AppError, extra: object = {}) => ({
  type: 'error',
  status: error.status,
  code: error.code,
  detail: error.detail,
  ...(error.errors && { errors: error.errors }),
  ...extra,
});

/**
 * The live channel of one instance: the sockets, what each follows, and the fan-out of
 * session changes to them; other instances hear of changes on the bus. Every rule about
 * sessions (who may follow one, who may write, what is content) is the sessions module's.
 */
export class LiveChannel {
  private readonly connections = new Set<LiveConnection>();
  private readonly followers: Followers;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly heartbeat: NodeJS.Timeout;
  private stopping = false;

  constructor(private readonly deps: ChannelDeps) {
    this.followers = new Followers(deps.settings.heartbeatMs, (connection, frame) => this.send(connection, frame));
    deps.sessions.onChange((change) => this.changed(change));
    deps.bus.subscribe((message, origin) =>
      this.heard(message, origin).catch((error: unknown) => deps.logger.warn('live channel: a change announced by another instance was not delivered', describeError(error))),
    );
    this.heartbeat = setInterval(() => this.beat(), deps.settings.heartbeatMs);
    this.heartbeat.unref();
  }

  get open(): number {
    return this.connections.size;
  }

  get accepting(): boolean {
    return !this.stopping;
  }

  /** Open sockets from this client address (authenticated or not yet). */
  fromAddress(address: string): number {
    let count = 0;
    for (const connection of this.connections) if (connection.address === address) count += 1;
    return count;
  }

  /** A socket that has just completed its handshake: it has `authTimeoutMs` to authenticate. */
  add(connection: LiveConnection): void {
    this.connections.add(connection);
    const { socket } = connection;
    connection.authTimer = setTimeout(() => {
      this.deps.refused('auth_timeout', connection.meta);
      connection.close(CLOSE.unauthenticated, 'AUTH_TIMEOUT');
    }, this.deps.settings.authTimeoutMs);
    socket.on('message', (data, isBinary) => runWithRequestId(connection.requestId, () => this.received(connection, data, isBinary)));
    socket.on('pong', () => (connection.alive = true));
    socket.on('error', () => undefined); // protocol errors close the socket with their code; nothing to add
    socket.on('close', (code) => this.removed(connection, code));
  }

  private send(connection: LiveConnection, frame: object): void {
    if (connection.send(frame)) this.deps.observe('message_out');
  }

  private received(connection: LiveConnection, data: RawData, isBinary: boolean): void {
    if (connection.closing) return;
    connection.messagesIn += 1;
    this.deps.observe('message_in');
    if (isBinary) return connection.close(CLOSE.unsupportedData, 'TEXT_FRAMES_ONLY');
    if (this.stopping) {
      // Shutting down: nothing new is taken on (and nothing is lost: it was never accepted).
      return this.send(connection, errorFrame(AppError.unavailable('SHUTTING_DOWN', 'This instance is shutting down; send it again after reconnecting.')));
    }
    if (!connection.bucket.take()) {
      if (connection.bucket.exhausted) return connection.close(CLOSE.tooMany, 'RATE_LIMITED');
      if (connection.bucket.refused === 1) this.send(connection, errorFrame(rateLimited()));
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data.toString());
    } catch {
      return connection.close(CLOSE.invalidPayload, 'INVALID_JSON');
    }
    const parsed = clientMessage.safeParse(json);
    // One message at a time per socket, in order: a subscribe sent right behind the auth waits for it.
    const step = connection.queue.then(() => this.handle(connection, parsed));
    connection.queue = step.catch(() => undefined);
    this.track(step);
  }

  private async handle(connection: LiveConnection, parsed: ReturnType<typeof clientMessage.safeParse>): Promise<void> {
    if (connection.closing) return;
    if (!connection.claims && (!parsed.success || parsed.data.type !== 'auth')) {
      this.deps.refused('no_auth', connection.meta);
      return connection.close(CLOSE.unauthenticated, 'AUTH_REQUIRED');
    }
    if (!parsed.success) {
      const errors = parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
      return this.send(connection, errorFrame(AppError.badRequest('VALIDATION_FAILED', 'The message does not match any message type of the channel.', errors)));
    }
    return this.dispatch(connection, parsed.data);
  }

  private track(work: Promise<unknown>): void {
    const running = work.catch((error: unknown) => this.deps.logger.error('live channel message failed', describeError(error)));
    this.inFlight.add(running);
    void running.finally(() => this.inFlight.delete(running));
  }

  private async dispatch(connection: LiveConnection, message: ClientMessage): Promise<void> {
    switch (message.type) {
      case 'auth':
        return this.authenticate(connection, message.token);
      case 'subscribe':
        return this.subscribe(connection, message.sessionId);
      case 'unsubscribe':
        return this.unsubscribe(connection, message.sessionId);
      case 'entry':
        return this.writeEntry(connection, message);
    }
  }

  private actorOf(connection: LiveConnection): Actor {
    const claims = connection.claims!;
    return { userId: claims.userId, role: claims.role, sessionId: claims.sessionId };
  }

  /** The first message, and later ones that hand in a fresh token of the same account before the old one expires. */
  private async authenticate(connection: LiveConnection, token: string): Promise<void> {
    let claims: AccessClaims;
    try {
      claims = await this.deps.verifyBearer(token, connection.meta);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      this.deps.refused('invalid_token', connection.meta, connection.userId);
      return connection.close(CLOSE.unauthenticated, 'INVALID_TOKEN');
    }
    if (connection.closing) return;
    if (connection.claims && connection.claims.userId !== claims.userId) return connection.close(CLOSE.unauthenticated, 'ACCOUNT_CHANGED');
    if (claims.enrolmentOnly) return connection.close(CLOSE.forbidden, 'MFA_ENROLMENT_REQUIRED');
    try {
      await this.deps.consentGiven(claims.userId);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return connection.close(CLOSE.forbidden, error.code);
    }
    if (connection.closing) return;
    if (!connection.claims) {
      let theirs = 0;
      for (const other of this.connections) if (other !== connection && other.userId === claims.userId) theirs += 1;
      if (theirs >= this.deps.settings.maxPerUser) {
        this.deps.refused('user_cap', connection.meta, claims.userId);
        return connection.close(CLOSE.tooMany, 'TOO_MANY_CONNECTIONS');
      }
    }
    connection.claims = claims;
    clearTimeout(connection.authTimer);
    clearTimeout(connection.expiryTimer);
    connection.expiryTimer = setTimeout(() => connection.close(CLOSE.unauthenticated, 'TOKEN_EXPIRED'), Math.max(0, claims.expiresAt * 1000 - Date.now()));
    // A revocation heard while the token was being checked must not be missed.
    if (!(await this.deps.isSessionActive(claims.sessionId))) return connection.close(CLOSE.unauthenticated, 'SESSION_ENDED');
    this.send(connection, { type: 'ready', userId: claims.userId, expiresAt: new Date(claims.expiresAt * 1000).toISOString() });
  }

  private async subscribe(connection: LiveConnection, sessionId: string): Promise<void> {
    if (!connection.subscriptions.has(sessionId) && connection.subscriptions.size >= MAX_SUBSCRIPTIONS) {
      return this.send(connection, errorFrame(new AppError(422, 'TOO_MANY_SUBSCRIPTIONS', 'Unprocessable request', { detail: `A socket follows at most ${MAX_SUBSCRIPTIONS} sessions.` }), { sessionId }));
    }
    let joined;
    try {
      joined = await this.deps.sessions.join(this.actorOf(connection), sessionId);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return this.send(connection, errorFrame(error, { sessionId }));
    }
    if (connection.closing) return;
    this.followers.add(connection, sessionId, { participation: joined.participation, content: joined.content, hideNotes: joined.hideNotes });
    this.send(connection, { type: 'subscribed', sessionId, status: joined.status, as: joined.participation, content: joined.content });
    this.presenceChanged(sessionId);
  }

  private unsubscribe(connection: LiveConnection, sessionId: string): void {
    if (this.followers.remove(connection, sessionId)) this.presenceChanged(sessionId);
    this.send(connection, { type: 'unsubscribed', sessionId });
  }

  private async writeEntry(connection: LiveConnection, message: Extract<ClientMessage, { type: 'entry' }>): Promise<void> {
    const ref = message.ref === undefined ? {} : { ref: message.ref };
    try {
      const entry = await this.deps.sessions.addEntry(this.actorOf(connection), message.sessionId, message.entry);
      this.send(connection, { type: 'entry.accepted', sessionId: message.sessionId, ...ref, entry });
    } catch (error) {
      if (error instanceof AppError && error.isOperational) return this.send(connection, errorFrame(error, { sessionId: message.sessionId, ...ref }));
      this.deps.logger.error('live entry failed', describeError(error));
      this.send(connection, { type: 'error', status: 500, code: 'INTERNAL', detail: 'The entry could not be stored; nothing was written.', sessionId: message.sessionId, ...ref });
    }
  }

  // --- fan-out -------------------------------------------------------------------------

  /** A change made on this instance (REST or socket): pushed here, announced to the others. */
  private changed(change: SessionChange): void {
    if (change.type === 'entry.created') {
      this.followers.pushEntry(change.sessionId, change.entry, change.hiddenFromClient);
      this.deps.bus.publish({ kind: 'entry', sessionId: change.sessionId, entryId: change.entry.id });
    } else if (change.type === 'session.state') {
      this.followers.pushState(change.sessionId, change.status, change.at);
      this.deps.bus.publish({ kind: 'state', sessionId: change.sessionId, status: change.status, at: change.at });
    } else {
      this.followers.endAll(change.sessionId);
      this.deps.bus.publish({ kind: 'deleted', sessionId: change.sessionId });
    }
  }

  private async heard(message: BusMessage, origin: string): Promise<void> {
    switch (message.kind) {
      case 'entry': {
        if (!this.followers.wantContent(message.sessionId)) return;
        const found = await this.deps.sessions.entryOf(message.sessionId, message.entryId);
        if (found) this.followers.pushEntry(message.sessionId, found.entry, found.hiddenFromClient);
        return;
      }
      case 'state':
        return this.followers.pushState(message.sessionId, message.status, message.at);
      case 'deleted':
        return this.followers.endAll(message.sessionId);
      case 'presence':
        return this.followers.reported(message.sessionId, origin, message.participants);
      case 'recheck':
        return this.recheck(message.userIds);
    }
  }

  /** Somebody here started or stopped following: told here and to the others. */
  private presenceChanged(sessionId: string): void {
    this.followers.pushPresence(sessionId);
    this.deps.bus.publish({ kind: 'presence', sessionId, participants: this.followers.local(sessionId) });
  }

  // --- revocation ------------------------------------------------------------------------

  /** Login sessions ended (here or on another instance): their sockets close at once. */
  revoked(sessionIds: string[]): void {
    const ended = new Set(sessionIds);
    for (const connection of this.connections) {
      if (connection.claims && ended.has(connection.claims.sessionId)) connection.close(CLOSE.unauthenticated, 'SESSION_ENDED');
    }
  }

  /** Revocations may have been missed (the bus reconnected): every socket's login session is read again. */
  async recheckSessions(): Promise<void> {
    await Promise.all(
      [...this.connections].map(async (connection) => {
        if (connection.claims && !(await this.deps.isSessionActive(connection.claims.sessionId))) connection.close(CLOSE.unauthenticated, 'SESSION_ENDED');
      }),
    );
  }

  /** Whose reach changed on this instance: checked here and announced to the others. */
  accessChanged(userIds: string[]): void {
    this.deps.bus.publish({ kind: 'recheck', userIds });
    this.track(this.recheck(userIds));
  }

  /** Every subscription of these accounts is decided again; one that no longer holds as it was closes the socket. */
  private async recheck(userIds: string[]): Promise<void> {
    const affected = new Set(userIds);
    const checks = [...this.connections]
      .filter((connection) => connection.userId !== undefined && affected.has(connection.userId))
      .flatMap((connection) =>
        [...connection.subscriptions].map(async ([sessionId, held]) => {
          const now = await this.deps.sessions.join(this.actorOf(connection), sessionId).catch(() => undefined);
          if (!now || now.content !== held.content || now.hideNotes !== held.hideNotes || now.participation !== held.participation) {
            connection.close(CLOSE.forbidden, 'ACCESS_CHANGED');
          }
        }),
      );
    await Promise.all(checks);
  }

  // --- lifetime --------------------------------------------------------------------------

  private removed(connection: LiveConnection, code: number): void {
    connection.clearTimers();
    this.connections.delete(connection);
    const followed = [...connection.subscriptions.keys()];
    for (const sessionId of followed) this.followers.remove(connection, sessionId);
    if (!this.stopping) for (const sessionId of followed) this.presenceChanged(sessionId);
    runWithRequestId(connection.requestId, () =>
      this.deps.logger.info('live connection closed', {
        requestId: connection.requestId,
        userId: connection.userId,
        code,
        durationMs: Date.now() - connection.openedAt,
        messagesIn: connection.messagesIn,
        messagesOut: connection.messagesOut,
      }),
    );
  }

  /** Every heartbeat: a socket that did not answer the last ping is dropped; presence is told again. */
  private beat(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
    for (const sessionId of this.followers.sessions()) this.deps.bus.publish({ kind: 'presence', sessionId, participants: this.followers.local(sessionId) });
    this.followers.sweep();
  }

  /**
   * Shutdown: no new sockets or messages, the entries being written are finished and
   * acknowledged, then every socket is closed with 1001 and a hint to reconnect.
   */
  async close(): Promise<void> {
    if (this.stopping) return this.closed();
    this.stopping = true;
    clearInterval(this.heartbeat);
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    for (const sessionId of this.followers.sessions()) this.deps.bus.publish({ kind: 'presence', sessionId, participants: [] });
    for (const connection of this.connections) {
      this.send(connection, { type: 'reconnect', reason: 'SHUTTING_DOWN', afterMs: 1_000 });
      connection.close(CLOSE.goingAway, 'SHUTTING_DOWN');
    }
    return this.closed();
  }

  private async closed(): Promise<void> {
    const deadline = Date.now() + 3_000;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const connection of this.connections) connection.socket.terminate();
  }
}

function rateLimited(): AppError {
  return new AppError(429, 'RATE_LIMITED', 'Too many requests', { detail: 'Too many messages on this socket; slow down or it will be closed (4429).' });
}
