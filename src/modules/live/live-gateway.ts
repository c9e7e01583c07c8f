import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Config } from '../../config/env.js';
import { AppError } from '../../errors/app-error.js';
import { problemBody } from '../../errors/problem.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { Logger } from '../../infra/logger.js';
import type { Metrics } from '../../infra/metrics.js';
import { isAllowedOrigin } from '../../middleware/cors.js';
import type { LiveChannel } from './live-channel.js';
import { LiveConnection } from './live-connection.js';
import { MAX_FRAME_BYTES } from './live.schemas.js';
import type { RefusalReason } from './refusals.js';

export const LIVE_PATH = '/api/live';
const ACCEPTED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The client address as Express computes `req.ip` with `trust proxy` set to a hop count:
 * the socket's peer, or the entry that many hops back in X-Forwarded-For.
 */
export function clientAddress(req: IncomingMessage, trustedHops: number): string {
  const forwarded = (req.headers['x-forwarded-for'] ?? '')
    .toString()
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .reverse();
  const chain = [req.socket.remoteAddress ?? '', ...forwarded];
  return chain[Math.min(trustedHops, chain.length - 1)]!;
}

/** Refuses an upgrade before the handshake: an HTTP answer with a problem body, then the socket is closed. */
function refuse(socket: Duplex, error: AppError, requestId: string): void {
  const body = JSON.stringify(problemBody(error, requestId, false));
  const headers = [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/problem+json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    'Cache-Control: no-store',
    ...Object.entries(error.headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

export interface GatewayDeps {
  config: Pick<Config, 'corsOrigins' | 'trustProxy' | 'live'>;
  logger: Logger;
  metrics: Pick<Metrics, 'observeRequest'>;
  channel: LiveChannel;
  refused: (reason: RefusalReason, meta: RequestMeta) => void;
}

/**
 * The HTTP server's `upgrade` listener for `/api/live`, run before any WebSocket handshake:
 * a foreign Origin is refused with 403 (cross-site WebSocket hijacking), an address over
 * its connection cap with 429, everything during shutdown with 503. Each upgrade gets a
 * request id and one access-log line, like every HTTP request.
 */
export function liveGateway(deps: GatewayDeps) {
  const { config, logger, metrics, channel } = deps;
  const allowedOrigin = isAllowedOrigin(config);
  const requestIds = new WeakMap<IncomingMessage, string>();
  const server = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: false });
  server.on('headers', (headers, req) => headers.push(`X-Request-Id: ${requestIds.get(req) ?? ''}`));

  return function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = performance.now();
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && ACCEPTED_ID.test(incoming) ? incoming : randomUUID();
    const path = (req.url ?? '/').split('?', 1)[0];
    const address = clientAddress(req, config.trustProxy);
    const meta: RequestMeta = { ip: address, userAgent: req.headers['user-agent']?.slice(0, 256) ?? null };
    const done = (status: number) => {
      const durationMs = performance.now() - started;
      logger.info('request', { requestId, method: req.method, path: LIVE_PATH, status, durationMs: Math.round(durationMs * 1000) / 1000, upgrade: 'websocket' });
      metrics.observeRequest(req.method ?? 'GET', LIVE_PATH, status, durationMs / 1000);
    };
    const refusal = (error: AppError, reason?: RefusalReason) => {
      if (reason) deps.refused(reason, meta);
      refuse(socket, error, requestId);
      done(error.status);
    };

    if (path !== LIVE_PATH) return refuse(socket, AppError.notFound('route'), requestId);
    if (!channel.accepting) return refusal(AppError.unavailable('SHUTTING_DOWN', 'This instance is shutting down; connect again.'), 'shutting_down');
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigin(origin)) {
      return refusal(AppError.forbidden('ORIGIN_NOT_ALLOWED', 'This Origin may not open the live channel.'), 'origin');
    }
    if (channel.fromAddress(address) >= config.live.maxPerAddress) {
      return refusal(new AppError(429, 'TOO_MANY_CONNECTIONS', 'Too many requests', { detail: 'Too many open live connections from this address.' }), 'address_cap');
    }
    requestIds.set(req, requestId);
    server.handleUpgrade(req, socket, head, (ws) => {
      channel.add(new LiveConnection(ws, requestId, address, meta, config.live.messagesPerS));
      done(101);
    });
  };
}
