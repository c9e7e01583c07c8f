import type { WebSocket } from 'ws';
import type { AccessClaims } from '../../http/route.js';
import type { RequestMeta } from '../../http/request-meta.js';

/** What a socket may receive of one session it follows, decided when it subscribed. */
export interface Subscription {
  participation: string;
  /** Entries at all (the client and their counselor). */
  content: boolean;
  /** The counselor's notes held back (the client). */
  hideNotes: boolean;
}

/**
 * A token bucket: `rate` messages a second, bursts up to twice that. Messages beyond it are
 * refused; when the refusals go on for another second's worth, the caller closes the socket.
 */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  /** Messages refused since the last one accepted. */
  refused = 0;

  constructor(private readonly rate: number) {
    this.tokens = rate * 2;
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.rate * 2, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.refused = 0;
      return true;
    }
    this.refused += 1;
    return false;
  }

  /** Refusals went on for longer than a second's worth of messages. */
  get exhausted(): boolean {
    return this.refused > this.rate;
  }
}

/** One open socket of the live channel: who it is (once authenticated), what it follows, its counts. */
export class LiveConnection {
  claims?: AccessClaims;
  readonly subscriptions = new Map<string, Subscription>();
  readonly bucket: TokenBucket;
  readonly openedAt = Date.now();
  alive = true;
  messagesIn = 0;
  messagesOut = 0;
  closing = false;
  /** The messages of this socket are handled one after the other, in the order they came. */
  queue: Promise<void> = Promise.resolve();
  authTimer?: NodeJS.Timeout;
  expiryTimer?: NodeJS.Timeout;

  constructor(
    readonly socket: WebSocket,
    readonly requestId: string,
    readonly address: string,
    readonly meta: RequestMeta,
    messagesPerS: number,
  ) {
    this.bucket = new TokenBucket(messagesPerS);
  }

  get userId(): string | undefined {
    return this.claims?.userId;
  }

  send(frame: object, onSent?: () => void): boolean {
    if (this.socket.readyState !== this.socket.OPEN) return false;
    this.socket.send(JSON.stringify(frame), onSent && (() => onSent()));
    this.messagesOut += 1;
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.clearTimers();
    this.socket.close(code, reason);
    // A peer that never answers the close frame is cut off.
    setTimeout(() => this.socket.terminate(), 2_000).unref();
  }

  clearTimers(): void {
    clearTimeout(this.authTimer);
    clearTimeout(this.expiryTimer);
  }
}
