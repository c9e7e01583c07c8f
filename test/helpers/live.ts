import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import type { BuiltApp } from '../../src/app.js';

/** The app on a loopback port of its own, with the live channel's upgrade listener, as src/server.ts serves it. */
export async function serveLive(built: Pick<BuiltApp, 'app' | 'modules'>) {
  const server: Server = createServer(built.app);
  server.on('upgrade', built.modules.live.upgrade);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `ws://127.0.0.1:${port}/api/live`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type LiveServer = Awaited<ReturnType<typeof serveLive>>;

export interface Frame {
  type: string;
  [field: string]: unknown;
}

/** How an upgrade ended: the socket open, or the HTTP answer that refused it. */
export type Opening = { open: true; client: LiveClient } | { open: false; status: number; body: string; headers: Record<string, string | string[] | undefined> };

const WAIT_MS = 5_000;

/**
 * A real WebSocket client that keeps every frame it received, so a test can wait for the
 * one it expects (`next`) and afterwards assert what never came (`frames`).
 */
export class LiveClient {
  readonly frames: Frame[] = [];
  /** The headers of the 101 answer. */
  upgradeHeaders: Record<string, string | string[] | undefined> = {};
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<Opening> {
    const socket = new WebSocket(url, { headers });
    let upgradeHeaders: LiveClient['upgradeHeaders'] = {};
    socket.once('upgrade', (res) => (upgradeHeaders = res.headers));
    return new Promise((resolve, reject) => {
      socket.once('open', () => {
        const client = new LiveClient(socket);
        client.upgradeHeaders = upgradeHeaders;
        resolve({ open: true, client });
      });
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ open: false, status: res.statusCode ?? 0, body, headers: res.headers }));
      });
      socket.once('error', reject);
    });
  }

  /** Opens a socket that must be accepted. */
  static async connect(url: string, headers: Record<string, string> = {}): Promise<LiveClient> {
    const opening = await LiveClient.open(url, headers);
    if (!opening.open) throw new Error(`upgrade refused with ${opening.status}: ${opening.body}`);
    return opening.client;
  }

  /** Connects and authenticates; resolves once the server said `ready`. */
  static async signedIn(url: string, token: string, headers: Record<string, string> = {}): Promise<LiveClient> {
    const client = await LiveClient.connect(url, headers);
    client.send({ type: 'auth', token });
    await client.next((frame) => frame.type === 'ready');
    return client;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
  }

  /** The first frame (received so far or later) matching `match`, not taken by an earlier call. */
  async next(match: (frame: Frame) => boolean, ms = WAIT_MS): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.find((frame) => match(frame) && !this.taken.has(frame));
      if (found) {
        this.taken.add(found);
        return found;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${ms} ms; received: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private readonly taken = new Set<Frame>();

  /** Follows a session; resolves with the `subscribed` or `error` frame. */
  async subscribe(sessionId: string): Promise<Frame> {
    this.send({ type: 'subscribe', sessionId });
    return this.next((frame) => (frame.type === 'subscribed' || frame.type === 'error') && frame.sessionId === sessionId);
  }

  /** Waits for the close, with a limit. */
  async closedWithin(ms = WAIT_MS): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms)));
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.close();
  }
}
