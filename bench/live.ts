/**
 * `npm run bench:live`: the live channel under a bounded load. The API runs as its own process
 * (`src/server.ts`, development mode on a fresh SQLite file, or PostgreSQL with
 * BENCH_DATABASE_URL pointing at an empty database); this process holds 500 open,
 * authenticated sockets, then a client and their counselor exchange entries through it and the
 * broadcast latency (client sends → counselor receives `entry.created`) is measured. Ends with
 * SIGTERM and checks every socket got 1001. Stops itself after BENCH_LIVE_LIMIT_S (120 s).
 *
 * Environment: BENCH_LIVE_SOCKETS (500), BENCH_LIVE_ENTRIES (200), BENCH_LIVE_INTERVAL_MS (100).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { createSequelize } from '../src/db/database.js';
import { migrate } from '../src/db/migrator.js';
import { hashPassword } from '../src/crypto/passwords.js';
import { defineModels } from '../src/models/index.js';

const SOCKETS = Number(process.env.BENCH_LIVE_SOCKETS ?? 500);
const ENTRIES = Number(process.env.BENCH_LIVE_ENTRIES ?? 200);
const INTERVAL_MS = Number(process.env.BENCH_LIVE_INTERVAL_MS ?? 100);
const LIMIT_S = Number(process.env.BENCH_LIVE_LIMIT_S ?? 120);
const PORT = 39_011;
const PASSWORD = 'bench-lantern-orchard-velvet-42';
const BASE = `http://127.0.0.1:${PORT}`;

const dataDir = mkdtempSync(join(tmpdir(), 'confidant-bench-live-'));
const databaseUrl = process.env.BENCH_DATABASE_URL;
let server: ReturnType<typeof spawn> | undefined;

const limit = setTimeout(() => {
  process.stderr.write(`bench:live did not finish within ${LIMIT_S} s; stopping\n`);
  server?.kill('SIGKILL');
  process.exit(1);
}, LIMIT_S * 1000);
limit.unref();

async function seed() {
  const sequelize = createSequelize({ dataDir, database: { url: databaseUrl, poolMax: 2, readyTimeoutMs: 2_000 } });
  await migrate(sequelize);
  const models = defineModels(sequelize);
  const passwordHash = await hashPassword(PASSWORD);
  const user = (name: string, role: 'user' | 'counselor' = 'user') => models.User.create({ email: `${name}-${randomUUID().slice(0, 6)}@bench.local`, name, role, passwordHash, emailVerifiedAt: new Date() });
  const [client, counselor, filler] = [await user('client'), await user('counselor', 'counselor'), await user('filler')];
  const organization = await models.Organization.create({ name: 'Bench Practice', slug: `bench-${randomUUID().slice(0, 8)}` });
  await models.Membership.bulkCreate([{ organizationId: organization.id, userId: client.id, role: 'client' }, { organizationId: organization.id, userId: counselor.id, role: 'counselor' }]);
  await models.CareRelationship.create({ organizationId: organization.id, counselorId: counselor.id, clientId: client.id, createdBy: null, startedAt: new Date() });
  const now = new Date();
  const session = await models.CounselingSession.create({ userId: client.id, counselorId: counselor.id, organizationId: organization.id, topic: 'bench', startedAt: now, lastResumedAt: now });
  await sequelize.close();
  return { emails: { client: client.email, counselor: counselor.email, filler: filler.email }, sessionId: session.id };
}

async function login(email: string): Promise<string> {
  const res = await fetch(`${BASE}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD, transport: 'body' }) });
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

interface Socket {
  ws: WebSocket;
  closed: Promise<number>;
  onFrame: (listener: (frame: { type: string; [key: string]: unknown }) => void) => void;
}

async function open(token: string): Promise<Socket> {
  const ws = new WebSocket(`ws://127.0.0.1:${PORT}/api/live`);
  const listeners: ((frame: { type: string; [key: string]: unknown }) => void)[] = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    for (const listener of listeners) listener(frame);
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const ready = new Promise<void>((resolve, reject) => {
    listeners.push((frame) => frame.type === 'ready' && resolve());
    void closed.then((code) => reject(new Error(`closed ${code} before ready`)));
  });
  ws.send(JSON.stringify({ type: 'auth', token }));
  await ready;
  return { ws, closed, onFrame: (listener) => listeners.push(listener) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((row) => row.startsWith('VmRSS:'));
  return Math.round(Number(line?.replace(/\D+/g, '') ?? 0) / 102.4) / 10;
}

async function main() {
  const { emails, sessionId } = await seed();
  server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      ...(databaseUrl && { DATABASE_URL: databaseUrl }),
      PORT: String(PORT),
      LOG_LEVEL: 'warn',
      RATE_LIMIT_GLOBAL_MAX: '100000',
      RATE_LIMIT_WRITE_MAX: '100000',
      RATE_LIMIT_AUTH_MAX: '1000',
      LIVE_MAX_CONNECTIONS_PER_ADDRESS: String(SOCKETS + 10),
      LIVE_MAX_CONNECTIONS_PER_USER: String(SOCKETS + 10),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; ; i += 1) {
    if ((await fetch(`${BASE}/health/ready`).catch(() => undefined))?.status === 200) break;
    if (i > 300) throw new Error('the server did not become ready');
    await sleep(100);
  }
  const rssIdle = rssMb(server.pid!);
  const [clientToken, counselorToken, fillerToken] = [await login(emails.client), await login(emails.counselor), await login(emails.filler)];

  const openedAt = performance.now();
  const fillers: Socket[] = [];
  for (let i = 0; i < SOCKETS - 2; i += 50) {
    fillers.push(...(await Promise.all(Array.from({ length: Math.min(50, SOCKETS - 2 - i) }, () => open(fillerToken)))));
  }
  const client = await open(clientToken);
  const counselor = await open(counselorToken);
  const openMs = performance.now() - openedAt;
  const rssOpen = rssMb(server.pid!);

  const subscribed = (socket: Socket) =>
    new Promise<void>((resolve) => {
      socket.onFrame((frame) => frame.type === 'subscribed' && resolve());
      socket.ws.send(JSON.stringify({ type: 'subscribe', sessionId }));
    });
  await Promise.all([subscribed(client), subscribed(counselor)]);

  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const allReceived = new Promise<void>((resolve) =>
    counselor.onFrame((frame) => {
      if (frame.type !== 'entry.created') return;
      const text = (frame.entry as { text?: string }).text ?? '';
      const started = sentAt.get(text);
      if (started === undefined) return;
      latencies.push(performance.now() - started);
      if (latencies.length === ENTRIES) resolve();
    }),
  );
  for (let i = 0; i < ENTRIES; i += 1) {
    const text = `bench line ${i}`;
    sentAt.set(text, performance.now());
    client.ws.send(JSON.stringify({ type: 'entry', sessionId, entry: { kind: 'transcript', text, speaker: 'client' } }));
    await sleep(INTERVAL_MS);
  }
  await allReceived;
  const rssTraffic = rssMb(server.pid!);

  const stoppingAt = performance.now();
  const everyClose = Promise.all([...fillers, client, counselor].map((socket) => socket.closed));
  server.kill('SIGTERM');
  const [codes, exitCode] = await Promise.all([everyClose, new Promise<number | null>((resolve) => server!.once('exit', resolve))]);
  const shutdownMs = performance.now() - stoppingAt;

  const sorted = [...latencies].sort((a, b) => a - b);
  const result = {
    sockets: SOCKETS,
    database: databaseUrl ? 'PostgreSQL' : 'SQLite',
    openAndAuthenticateMs: Math.round(openMs),
    entries: ENTRIES,
    intervalMs: INTERVAL_MS,
    broadcastMs: { p50: +percentile(sorted, 50).toFixed(2), p99: +percentile(sorted, 99).toFixed(2), max: +sorted.at(-1)!.toFixed(2) },
    rssMb: { idle: rssIdle, with_sockets: rssOpen, after_traffic: rssTraffic },
    shutdown: { ms: Math.round(shutdownMs), exitCode, closedWith1001: codes.filter((code) => code === 1001).length },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (exitCode !== 0 || result.shutdown.closedWith1001 !== SOCKETS) process.exitCode = 1;
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`bench:live failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    server?.kill('SIGKILL');
    process.exitCode = 1;
  })
  .finally(() => {
    clearTimeout(limit);
    rmSync(dataDir, { recursive: true, force: true });
  });
