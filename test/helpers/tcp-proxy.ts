import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * How the proxy treats connections while the link is cut:
 * - `reset`: accepted and dropped at once (the client sees the connection end);
 * - `blackhole`: accepted and never answered (the client must time out by itself).
 */
export type CutMode = 'reset' | 'blackhole';

export interface TcpProxy {
  port: number;
  /** Drops every proxied connection now and treats new ones according to `mode`. */
  cut(mode?: CutMode): void;
  /** Forwards again (connections held by a blackhole are dropped). */
  restore(): void;
  /** How many client connections were accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * A loopback TCP forwarder the test controls, put between the app and a real server
 * (PostgreSQL) so a test can take the server away mid-traffic and bring it back.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let mode: 'forward' | CutMode = 'forward';
  let accepted = 0;

  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  const server: Server = createServer((client) => {
    accepted += 1;
    track(client);
    if (mode === 'reset') {
      client.destroy();
      return;
    }
    if (mode === 'blackhole') return; // held open, never answered, until restore() or close()
    const upstream = connect(target.port, target.host);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const dropAll = () => {
    for (const socket of open) socket.destroy();
    open.clear();
  };

  return {
    port,
    get connections() {
      return accepted;
    },
    cut(cutMode = 'reset') {
      mode = cutMode;
      dropAll();
    },
    restore() {
      if (mode === 'blackhole') dropAll();
      mode = 'forward';
    },
    async close() {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
