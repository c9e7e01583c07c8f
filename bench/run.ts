/**
 * `npm run bench`: the targets of docs/DESIGN.md §10, measured. The API runs in production mode on PostgreSQL,
 * pinned to core 0; autocannon drives it from this process, pinned to core 1; a bare
 * Express 5 app is measured the same way in the same run. Results go to
 * docs/PERFORMANCE.md. Not a CI test: the machine is shared and noisy.
 *
 * Environment: BENCH_DATABASE_URL (an admin URL; default postgres://postgres@127.0.0.1:5432/postgres),
 * BENCH_SOAK_S (default 300), BENCH_DURATION_S (default 10 per throughput run).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import pg from 'pg';
import { QueryTypes } from 'sequelize';
import { createSequelize } from '../src/db/database.js';
import { migrate } from '../src/db/migrator.js';
import { defineModels } from '../src/models/index.js';
import { createSessionStats } from '../src/modules/sessions/session-stats.js';
import { attachmentRoundTrip, type AttachmentRun } from './attachment.js';
import { paced } from './paced.js';
import { BENCH_PASSWORD, seedBenchData, seedBenchOrganization } from './seed.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SOAK_S = Number(process.env.BENCH_SOAK_S ?? 300);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const APP_PORT = 39_001;
const BARE_PORT = 39_002;
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

function pinned(core: number, command: string, args: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
}

async function waitFor(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  throw new Error(`${url} did not come up`);
}

function start(core: number, args: string[], env: Record<string, string>): ChildProcess {
  const [command, argv] = pinned(core, process.execPath, args);
  return spawn(command, argv, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(options: autocannon.Options): Promise<Run> {
  const result = await autocannon({ connections: 50, duration: DURATION_S, ...options });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

function rssKb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((row) => row.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? 0);
}

async function createBenchDatabase(): Promise<string> {
  const name = `confidant_bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDatabase(databaseUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${new URL(databaseUrl).pathname.slice(1)} WITH (FORCE)`);
  await admin.end();
}

async function login(base: string, email: string): Promise<string> {
  const res = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: BENCH_PASSWORD, transport: 'body' }),
  });
  if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

const PASSES = Math.max(3, Number(process.env.BENCH_PASSES ?? 3));
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCALE_PORTS = [39_011, 39_012];
const PROXY_PORT = 39_010;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The run whose throughput is the median of the passes (its latencies come with it). */
function medianRun(runs: Run[]): Run {
  const target = median(runs.map((run) => run.rps));
  return [...runs].sort((a, b) => Math.abs(a.rps - target) - Math.abs(b.rps - target))[0]!;
}

/** EXPLAIN ANALYZE of the statements the dashboard sends for the heavy user, captured as Sequelize logs them. */
async function dashboardPlans(databaseUrl: string, heavyEmail: string, organizationId: string): Promise<string[]> {
  const statements: string[] = [];
  const sequelize = createSequelize({ database: { url: databaseUrl, poolMax: 2, readyTimeoutMs: 2000 }, dataDir: '/tmp' }, (sql) => {
    statements.push(sql.replace(/^Executing \(default\): /, ''));
  });
  try {
    const models = defineModels(sequelize);
    const heavy = await models.User.findOne({ where: { email: heavyEmail } });
    statements.length = 0;
    const stats = createSessionStats(sequelize, models);
    await stats.forScope({ clientId: heavy!.id }, 30);
    await stats.organization(organizationId, 30);
    const captured = statements.splice(0); // the EXPLAINs below are logged too
    const plans: string[] = [];
    for (const statement of captured) {
      const explain = `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${statement.trim().replace(/;$/, '')}`;
      const rows = await sequelize.query<{ 'QUERY PLAN': string }>(explain, { type: QueryTypes.SELECT }).catch((error: Error & { original?: Error }) => {
        throw new Error(`EXPLAIN failed (${error.original?.message ?? error.message}): ${explain}`);
      });
      plans.push(rows.map((row) => row['QUERY PLAN']).join('\n'));
    }
    return plans;
  } finally {
    await sequelize.close();
  }
}

/** Requests through the proxy from one client: how many the shared auth tier let through, and how many it refused. */
async function countThroughProxy(total: number): Promise<{ passed: number; refused: number; other: number }> {
  const tally = { passed: 0, refused: 0, other: 0 };
  for (let i = 0; i < total; i += 1) {
    const res = await fetch(`http://127.0.0.1:${PROXY_PORT}/api/auth/forgot-password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `nobody-${i}@bench.local` }),
    });
    await res.arrayBuffer();
    if (res.status === 202) tally.passed += 1;
    else if (res.status === 429) tally.refused += 1;
    else tally.other += 1;
  }
  return tally;
}

/**
 * Two instances over one database and one Redis behind a round-robin proxy: the authenticated
 * read with one backend and with two, and one auth-tier limit enforced exactly across both.
 */
async function scaleOut(env: Record<string, string>, email: string): Promise<ScaleOut> {
  // One public address for both, as behind a real load balancer: it is the tokens' issuer, so
  // instances with addresses of their own (PUBLIC_URL defaults to localhost:PORT) refuse each other's tokens.
  const shared = { ...env, PUBLIC_URL: `http://127.0.0.1:${PROXY_PORT}`, REDIS_URL, REDIS_KEY_PREFIX: `confidant-bench-${randomBytes(4).toString('hex')}:`, RATE_LIMIT_AUTH_MAX: String(AUTH_LIMIT), RATE_LIMIT_AUTH_WINDOW_S: '600' };
  const instances = SCALE_PORTS.map((port, core) => start(core, ['dist/server.js'], { ...shared, PORT: String(port) }));
  let proxy: ChildProcess | undefined;
  const withProxy = async (ports: number[]) => {
    if (proxy) await stop(proxy);
    proxy = spawn(process.execPath, ['--import', 'tsx', 'bench/proxy.ts'], { env: { PATH: process.env.PATH ?? '', PORT: String(PROXY_PORT), BACKENDS: ports.join(',') }, stdio: ['ignore', 'ignore', 'inherit'] });
    await waitFor(`http://127.0.0.1:${PROXY_PORT}/health`);
  };
  try {
    for (const port of SCALE_PORTS) await waitFor(`http://127.0.0.1:${port}/health/ready`);
    const token = await login(`http://127.0.0.1:${SCALE_PORTS[0]}`, email);
    const auth = { authorization: `Bearer ${token}` };
    const url = `http://127.0.0.1:${PROXY_PORT}/api/users/me`;
    const one: Run[] = [];
    const two: Run[] = [];
    for (let pass = 0; pass < PASSES; pass += 1) {
      await withProxy([SCALE_PORTS[0]!]);
      await load({ url, headers: auth, duration: 2 });
      one.push(await load({ url, headers: auth }));
      await withProxy(SCALE_PORTS);
      await load({ url, headers: auth, duration: 2 });
      two.push(await load({ url, headers: auth }));
    }
    // The sign-in above was the first request of the tier: AUTH_LIMIT - 1 remain for the count.
    const limit = await countThroughProxy(AUTH_LIMIT + 20);
    return { one: medianRun(one), two: medianRun(two), limit };
  } finally {
    if (proxy) await stop(proxy);
    for (const instance of instances) await stop(instance);
  }
}

const AUTH_LIMIT = 100;

interface LiveRun {
  sockets: number;
  entries: number;
  broadcastMs: { p50: number; p99: number; max: number };
  rssMb: { idle: number; with_sockets: number; after_traffic: number };
  shutdown: { closedWith1001: number; exitCode: number | null };
}

/** bench/live.ts on a fresh PostgreSQL database: 500 open sockets, then entries between a client and their counselor. */
async function liveChannel(): Promise<LiveRun> {
  const databaseUrl = await createBenchDatabase();
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/live.ts'], { env: { PATH: process.env.PATH ?? '', BENCH_DATABASE_URL: databaseUrl }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`bench/live.ts exited with ${code}`);
    return JSON.parse(out.slice(out.indexOf('{'))) as LiveRun;
  } finally {
    await dropDatabase(databaseUrl);
  }
}

async function main(): Promise<void> {
  process.stdout.write(`bench: preparing a PostgreSQL database (taskset ${hasTaskset ? 'on' : 'unavailable'})\n`);
  const databaseUrl = await createBenchDatabase();
  const sequelize = createSequelize({ database: { url: databaseUrl, poolMax: 5, readyTimeoutMs: 2000 }, dataDir: '/tmp' });
  await migrate(sequelize);
  const users = await seedBenchData(sequelize);
  const practice = await seedBenchOrganization(sequelize);
  // What autovacuum does to a database that has been running a while: statistics for the
  // planner and a visibility map for index-only scans (a freshly loaded table has neither).
  await sequelize.query('VACUUM ANALYZE');
  await sequelize.close();

  const dataDir = mkdtempSync(join(tmpdir(), 'confidant-bench-'));
  const env = {
    NODE_ENV: 'production',
    // Attachments go to a local directory, as a single-instance deployment with a volume would keep them.
    DATA_DIR: dataDir,
    STORAGE_LOCAL_ALLOWED: 'true',
    PORT: String(APP_PORT),
    DATABASE_URL: databaseUrl,
    CORS_ORIGINS: 'https://app.bench.local',
    AUTH_SECRET: randomBytes(32).toString('base64url'),
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    // The limiters run on every request, as in production, but never refuse the load.
    RATE_LIMIT_GLOBAL_MAX: '1000000000',
    RATE_LIMIT_WRITE_MAX: '1000000000',
    RATE_LIMIT_AUTH_MAX: '1000000000',
    REQUIRE_EMAIL_VERIFICATION: 'false',
    JOBS_INTERVAL_S: '0',
  };
  const results: Record<string, unknown> = {};
  const bare = start(0, ['--import', 'tsx', 'bench/bare-server.ts'], { PORT: String(BARE_PORT) });
  const app = start(0, ['dist/server.js'], env);
  try {
    const bareBase = `http://127.0.0.1:${BARE_PORT}`;
    const base = `http://127.0.0.1:${APP_PORT}`;
    await waitFor(`${bareBase}/health`);
    await waitFor(`${base}/health/ready`);
    const lightToken = await login(base, users.light);
    const auth = { authorization: `Bearer ${lightToken}` };

    // Interleaved passes on the same core: a slow moment of the machine hits all three alike.
    const passes: { bare: Run; health: Run; me: Run }[] = [];
    for (let pass = 1; pass <= PASSES; pass += 1) {
      process.stdout.write(`bench: pass ${pass} of ${PASSES}: bare /health, /health, /api/users/me\n`);
      await load({ url: `${bareBase}/health`, duration: 2 });
      const bareRun = await load({ url: `${bareBase}/health` });
      await load({ url: `${base}/health`, duration: 2 });
      const healthRun = await load({ url: `${base}/health` });
      await load({ url: `${base}/api/users/me`, headers: auth, duration: 2 });
      const meRun = await load({ url: `${base}/api/users/me`, headers: auth });
      passes.push({ bare: bareRun, health: healthRun, me: meRun });
    }
    const bareHealth = medianRun(passes.map((p) => p.bare));
    const health = medianRun(passes.map((p) => p.health));
    const meMax = medianRun(passes.map((p) => p.me));
    const halfRate = Math.round(meMax.rps / 2);
    // Latency at a fixed offered rate, from 10 connections (each paced by autocannon).
    const halfS = Math.max(DURATION_S, 15);
    const meHalf = await paced({ url: `${base}/api/users/me`, headers: auth, rate: halfRate, durationS: halfS });
    // The floor of this machine and load generator: a trivial handler at the same offered rate.
    const bareHalf = await paced({ url: `${bareBase}/health`, rate: halfRate, durationS: halfS });
    const meHalfBursts = await load({ url: `${base}/api/users/me`, headers: auth, connections: 10, overallRate: halfRate, duration: halfS });
    const bareHalfBursts = await load({ url: `${bareBase}/health`, connections: 10, overallRate: halfRate, duration: halfS });
    await stop(bare);

    process.stdout.write('bench: dashboard over 1,000 sessions and 50,000 entries at 20 requests/s\n');
    const dashboardUrl = `${base}/api/dashboard/summary?days=30`;
    const heavyAuth = { authorization: `Bearer ${await login(base, users.heavy)}` };
    await paced({ url: dashboardUrl, headers: heavyAuth, rate: 20, durationS: 3 }); // warm-up, as before every throughput run
    const dashboard = await paced({ url: dashboardUrl, headers: heavyAuth, rate: 20, durationS: 20 });
    const dashboardBursts = await load({ url: dashboardUrl, headers: heavyAuth, connections: 10, overallRate: 20, duration: 20 });
    const plans = await dashboardPlans(databaseUrl, users.heavy, practice.organizationId);

    process.stdout.write('bench: organization dashboard over 50 counselors and 2,000 clients at 20 requests/s\n');
    const organizationUrl = `${base}/api/organizations/${practice.organizationId}/dashboard?days=30`;
    const ownerAuth = { authorization: `Bearer ${await login(base, practice.owner)}` };
    await paced({ url: organizationUrl, headers: ownerAuth, rate: 20, durationS: 3 });
    const organizationDashboard = await paced({ url: organizationUrl, headers: ownerAuth, rate: 20, durationS: 20 });
    const organizationDashboardBursts = await load({ url: organizationUrl, headers: ownerAuth, connections: 10, overallRate: 20, duration: 20 });

    process.stdout.write('bench: login at 5 requests/s\n');
    const loginRequest = { url: `${base}/api/auth/login`, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: users.light, password: BENCH_PASSWORD, transport: 'body' }) };
    await paced({ ...loginRequest, rate: 5, durationS: 2 });
    const loginRun = await paced({ ...loginRequest, rate: 5, durationS: 10 });

    process.stdout.write('bench: a 50 MB attachment up and down, sampling the server\'s memory\n');
    const attachment = await attachmentRoundTrip(base, lightToken, app.pid!);

    process.stdout.write(`bench: ${SOAK_S} s soak at half the maximum rate, sampling memory\n`);
    const samples: { t: number; rssMb: number }[] = [];
    const soakStarted = Date.now();
    const sampler = setInterval(() => samples.push({ t: Math.round((Date.now() - soakStarted) / 1000), rssMb: Math.round(rssKb(app.pid!) / 102.4) / 10 }), 5_000);
    const soak = await load({ url: `${base}/api/users/me`, headers: auth, overallRate: halfRate, duration: SOAK_S });
    clearInterval(sampler);
    const window = Math.max(1, Math.floor(samples.length / 5));
    const mean = (rows: typeof samples) => rows.reduce((sum, row) => sum + row.rssMb, 0) / rows.length;
    const early = mean(samples.slice(1, 1 + window));
    const late = mean(samples.slice(-window));
    await stop(app);

    process.stdout.write('bench: two instances behind a round-robin proxy, with Redis\n');
    const scale = await scaleOut(env, users.light);

    process.stdout.write('bench: 500 live sockets, entries between two participants\n');
    const live = await liveChannel();

    Object.assign(results, {
      passes,
      bareHealth,
      bareHalf,
      health,
      meMax,
      meHalf,
      meHalfBursts,
      bareHalfBursts,
      dashboard,
      dashboardBursts,
      organizationDashboard,
      organizationDashboardBursts,
      plans,
      loginRun,
      soak,
      scale,
      attachment,
      live,
      memory: { early, late, changePct: ((late - early) / early) * 100, samples },
    });
  } finally {
    await stop(app);
    await stop(bare);
    await dropDatabase(databaseUrl);
    rmSync(dataDir, { recursive: true, force: true });
  }
  writeReport(results as unknown as Report);
}

interface ScaleOut {
  one: Run;
  two: Run;
  limit: { passed: number; refused: number; other: number };
}

interface Report {
  passes: { bare: Run; health: Run; me: Run }[];
  plans: string[];
  scale: ScaleOut;
  attachment: AttachmentRun;
  live: LiveRun;
  bareHealth: Run;
  bareHalf: Run;
  health: Run;
  meMax: Run;
  meHalf: Run;
  meHalfBursts: Run;
  bareHalfBursts: Run;
  dashboard: Run;
  dashboardBursts: Run;
  organizationDashboard: Run;
  organizationDashboardBursts: Run;
  loginRun: Run;
  soak: Run;
  memory: { early: number; late: number; changePct: number; samples: { t: number; rssMb: number }[] };
}

function writeReport(r: Report): void {
  const pct = (value: number, of: number) => `${Math.round((value / of) * 100)} %`;
  const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
  const healthRatio = r.health.rps / r.bareHealth.rps;
  const meRatio = r.meMax.rps / r.bareHealth.rps;
  const rows = [
    ['`GET /health`, full pipeline vs bare Express', `${r.health.rps} vs ${r.bareHealth.rps} req/s = ${pct(r.health.rps, r.bareHealth.rps)}`, '>= 65 %', verdict(healthRatio >= 0.65)],
    ['authenticated `GET /api/users/me`, max', `${r.meMax.rps} req/s = ${pct(r.meMax.rps, r.bareHealth.rps)} of bare`, '>= 40 %', verdict(meRatio >= 0.4)],
    [`\`GET /api/users/me\` at half max (${Math.round(r.meMax.rps / 2)} req/s)`, `p50 ${r.meHalf.p50} ms, p99 ${r.meHalf.p99} ms (bare Express at the same rate: p99 ${r.bareHalf.p99} ms; in autocannon's bursts: p99 ${r.meHalfBursts.p99} ms, bare ${r.bareHalfBursts.p99} ms)`, 'p99 < 20 ms', verdict(r.meHalf.p99 < 20)],
    ['dashboard, 1,000 sessions / 50,000 entries, 20 req/s', `p50 ${r.dashboard.p50} ms, p99 ${r.dashboard.p99} ms (in bursts of 10: p50 ${r.dashboardBursts.p50} ms, p99 ${r.dashboardBursts.p99} ms)`, 'p99 < 50 ms', verdict(r.dashboard.p99 < 50)],
    [
      'organization dashboard, 50 counselors / 2,000 clients / 10,000 sessions, 20 req/s',
      `p50 ${r.organizationDashboard.p50} ms, p99 ${r.organizationDashboard.p99} ms (in bursts of 10: p50 ${r.organizationDashboardBursts.p50} ms, p99 ${r.organizationDashboardBursts.p99} ms)`,
      'p99 < 50 ms',
      verdict(r.organizationDashboard.p99 < 50),
    ],
    ['login at 5 req/s (one argon2id verification)', `p50 ${r.loginRun.p50} ms, p99 ${r.loginRun.p99} ms`, '<= 3 queries (proven by test)', 'see below'],
    [
      'two instances behind a round-robin proxy, authenticated read',
      `${r.scale.one.rps} req/s with one backend, ${r.scale.two.rps} with two (× ${(r.scale.two.rps / r.scale.one.rps).toFixed(2)})`,
      'grows with the second instance',
      verdict(r.scale.two.rps > r.scale.one.rps),
    ],
    [
      `one auth-tier limit (${AUTH_LIMIT}) across both instances`,
      `${r.scale.limit.passed} passed, ${r.scale.limit.refused} refused of ${AUTH_LIMIT + 20}${r.scale.limit.other ? `, ${r.scale.limit.other} other` : ''} (after one sign-in)`,
      `exactly ${AUTH_LIMIT - 1} pass`,
      verdict(r.scale.limit.passed === AUTH_LIMIT - 1 && r.scale.limit.refused === 21),
    ],
    [
      `a ${r.attachment.megabytes} MB attachment up and down (encrypted on the way in, decrypted on the way out)`,
      `server RSS ${r.attachment.idleRssMb} MB idle, peak ${r.attachment.peakRssMb} MB (+${(r.attachment.peakRssMb - r.attachment.idleRssMb).toFixed(1)} MB); up ${r.attachment.uploadS} s, down ${r.attachment.downloadS} s`,
      'peak within 64 MB of idle',
      verdict(r.attachment.peakRssMb - r.attachment.idleRssMb <= 64 && r.attachment.downloadedBytes === r.attachment.megabytes * 1_048_576),
    ],
    [
      `${r.live.sockets} open live sockets, ${r.live.entries} entries client → counselor`,
      `broadcast p50 ${r.live.broadcastMs.p50} ms, p99 ${r.live.broadcastMs.p99} ms; RSS ${r.live.rssMb.idle} → ${r.live.rssMb.with_sockets} MB with the sockets; ${r.live.shutdown.closedWith1001} closed with 1001 at SIGTERM`,
      'p99 < 50 ms',
      verdict(r.live.broadcastMs.p99 < 50),
    ],
    [`memory over a ${SOAK_S} s soak at half max`, `${r.memory.early.toFixed(1)} MB → ${r.memory.late.toFixed(1)} MB (${r.memory.changePct.toFixed(1)} %)`, 'within 10 %', verdict(Math.abs(r.memory.changePct) <= 10)],
  ];
  const errors = [...r.passes.flatMap((p) => [p.bare, p.health, p.me]), r.bareHalf, r.meHalf, r.meHalfBursts, r.bareHalfBursts, r.dashboard, r.dashboardBursts, r.organizationDashboard, r.organizationDashboardBursts, r.loginRun, r.soak, r.scale.one, r.scale.two].reduce(
    (sum, run) => sum + run.errors + run.non2xx,
    0,
  );
  const text = `# Performance

Measured by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}: the API built and started with
\`node dist/server.js\` in production mode on PostgreSQL 15 (local), pinned to core 0 with \`taskset\`; autocannon
in a second process pinned to core 1; a bare Express 5 app (bench/bare-server.ts) measured on core 0 in the same
run. Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node.js ${process.version}. Throughput runs: 50 connections,
${DURATION_S} s after a 2 s warm-up, in ${r.passes.length} interleaved passes (bare, /health, /api/users/me), each figure the median pass. Latency targets are taken at a fixed offered rate (half the measured maximum,
20 requests/s for the dashboards, 5 for login), after a warm-up at that rate, from an open-loop load (bench/paced.ts): each
request is sent when it is due, evenly spaced, whether or not the earlier ones were answered, and its latency runs from
the moment it was due. autocannon's \`overallRate\` releases each second's quota at the start of the second, so over 10
connections it measures bursts of 10 concurrent requests rather than a rate; those figures are given too ("in bursts"). Rate limiters, helmet, CORS, the JSON access log (pino) and authentication all run
on every request, as in production.

| scenario | measured | target | |
| --- | --- | --- | --- |
${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}

Errors and non-2xx responses across all runs: ${errors}.

Raw figures (requests/s average, latency in ms):

| run | req/s | p50 | p99 | non-2xx | errors |
| --- | --- | --- | --- | --- | --- |
${Object.entries({ 'bare /health': r.bareHealth, 'bare /health at the half rate': r.bareHalf, 'bare /health at the half rate, bursts': r.bareHalfBursts, '/health': r.health, '/api/users/me max': r.meMax, '/api/users/me half': r.meHalf, '/api/users/me half, bursts': r.meHalfBursts, dashboard: r.dashboard, 'dashboard, bursts': r.dashboardBursts, 'organization dashboard': r.organizationDashboard, 'organization dashboard, bursts': r.organizationDashboardBursts, login: r.loginRun, soak: r.soak, 'scale-out, one backend': r.scale.one, 'scale-out, two backends': r.scale.two })
  .map(([name, run]) => `| ${name} | ${run.rps} | ${run.p50} | ${run.p99} | ${run.non2xx} | ${run.errors} |`)
  .join('\n')}

The passes (req/s):

| pass | bare /health | /health | /api/users/me |
| --- | --- | --- | --- |
${r.passes.map((p, i) => `| ${i + 1} | ${p.bare.rps} | ${p.health.rps} (${pct(p.health.rps, p.bare.rps)}) | ${p.me.rps} (${pct(p.me.rps, p.bare.rps)}) |`).join('\n')}

Scale-out (bench/proxy.ts, a round-robin \`node:http\` proxy; instances on cores 0 and 1, one PostgreSQL, one Redis):
one backend ${r.scale.one.rps} req/s (p99 ${r.scale.one.p99} ms), two backends ${r.scale.two.rps} req/s (p99 ${r.scale.two.p99} ms).

The dashboards' statements (\`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)\`): the user with 1,000 sessions and 50,000 entries (two), then the organization's session figures over its 10,000 sessions (one; its member and care counts are a second statement of the same shape):

${r.plans.map((plan) => `\`\`\`\n${plan}\n\`\`\``).join('\n\n')}

Memory samples during the soak (RSS, MB, every 5 s): ${r.memory.samples.map((sample) => sample.rssMb).join(', ')}.

Login: one argon2id verification (19 MiB, t=2, p=1) dominates its latency by design; the query budget (3: the account, its second factors, the session or challenge)
is proven by \`test/api/mfa-login.test.ts › the query budget of a sign-in\` counting queries, not by this benchmark.

Reproduce: \`npm run bench\` (needs PostgreSQL and Redis; \`BENCH_SOAK_S=60 npm run bench\` for a shorter soak; \`npm run bench:live\` runs the live-channel part alone).
`;
  const existing = (() => {
    try {
      return readFileSync('docs/PERFORMANCE.md', 'utf8');
    } catch {
      return '';
    }
  })();
  const notes = existing.includes('<!-- notes -->') ? existing.slice(existing.indexOf('<!-- notes -->')) : '<!-- notes -->\n';
  writeFileSync('docs/PERFORMANCE.md', `${text}\n${notes}`);
  process.stdout.write(`${text}\nbench: wrote docs/PERFORMANCE.md\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
