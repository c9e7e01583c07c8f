import { createClient } from 'redis';
import type { Logger } from './logger.js';

type Client = ReturnType<typeof createClient>;

const COMMAND_TIMEOUT_MS = 300;

/**
 * The Redis connection for state shared by instances (REDIS_URL). Commands never wait for
 * a Redis that is away: the offline queue is off and every command has a short timeout,
 * so callers fall back to their in-process state at once; the client keeps reconnecting
 * in the background and `ready` turns true again when Redis returns.
 */
export class SharedState {
  private readonly client: Client;
  private subscriber?: Client;
  private subscriberConnected?: Promise<unknown>;
  private downSince?: number;
  private closed = false;

  constructor(
    url: string,
    /** Every key and channel starts with this, so deployments (and test runs) sharing a Redis stay apart. */
    readonly keyPrefix: string,
    private readonly logger: Logger,
  ) {
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 2_000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2_000) },
    });
    this.watch(this.client, 'redis');
    this.client.connect().catch(() => undefined); // keeps retrying by itself; errors arrive as events
  }

  get ready(): boolean {
    return this.client.isReady;
  }

  private watch(client: Client, name: string): void {
    client.on('ready', () => {
      if (this.downSince !== undefined) this.logger.info(`${name} reachable again; shared state resumed`, { downForMs: Date.now() - this.downSince });
      this.downSince = undefined;
    });
    client.on('error', (error: Error) => {
      if (this.downSince !== undefined || this.closed) return; // one line per outage, not one per retry
      this.downSince = Date.now();
      this.logger.warn(`${name} unreachable; falling back to in-process state`, { error: error.name, message: error.message });
    });
  }

  /** Runs a command against Redis with a timeout; rejects when Redis is not ready. */
  async run<T>(command: (client: Client) => Promise<T>, timeoutMs = COMMAND_TIMEOUT_MS): Promise<T> {
    if (!this.client.isReady) throw new Error('redis is not connected');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([command(this.client), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async ping(timeoutMs: number): Promise<void> {
    await this.run((client) => client.ping(), timeoutMs);
  }

  /**
   * Messages published by any instance, this one included; resubscribes after reconnects.
   * Pub/sub keeps nothing for a subscriber that is away, so `onSubscribed` runs each time
   * the subscription (re)starts: whatever was published before may have been missed.
   */
  subscribe(channel: string, onMessage: (message: string) => void, onSubscribed?: () => void): void {
    const subscriber = (this.subscriber ??= this.client.duplicate());
    // One connection carries every channel: connected (and watched) once, on the first subscription.
    this.subscriberConnected ??= (() => {
      this.watch(subscriber, 'redis subscriber');
      return subscriber.connect();
    })();
    this.subscriberConnected
      .then(() => subscriber.subscribe(channel, onMessage))
      .then(() => {
        onSubscribed?.();
        // node-redis renews the subscription before it reports a reconnected client ready.
        subscriber.on('ready', () => onSubscribed?.());
      })
      .catch(() => undefined);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run((client) => client.publish(channel, message));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.client.close(), this.subscriber?.close()]);
  }
}
