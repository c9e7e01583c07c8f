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
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import pg from 'pg';
import { createSequelize } from '../src/db/database.js';
import { migrate } from '../src/db/migrator.js';
import { BENCH_PASSWORD, seedBenchData } from './seed.js';

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

async function main(): Promise<void> {
  process.stdout.write(`bench: preparing a PostgreSQL database (taskset ${hasTaskset ? 'on' : 'unavailable'})\n`);
  const databaseUrl = await createBenchDatabase();
  const sequelize = createSequelize({ database: { url: databaseUrl, poolMax: 5, readyTimeoutMs: 2000 }, dataDir: '/tmp' });
  await migrate(sequelize);
  const users = await seedBenchData(sequelize);
  await sequelize.close();

  const env = {
    NODE_ENV: 'production',
    PORT: String(APP_PORT),
    HOST: '127.0.0.1',
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

    process.stdout.write('bench: GET /health through the full pipeline\n');
    await load({ url: `${base}/health`, duration: 3 });
    const health = await load({ url: `${base}/health` });

    process.stdout.write('bench: authenticated GET /api/users/me\n');
    const lightToken = await login(base, users.light);
    const auth = { authorization: `Bearer ${lightToken}` };
    await load({ url: `${base}/api/users/me`, headers: auth, duration: 3 });
    const meMax = await load({ url: `${base}/api/users/me`, headers: auth });
    const halfRate = Math.round(meMax.rps / 2);
    // Latency at a fixed offered rate, from 10 connections (each paced by autocannon).
    const meHalf = await load({ url: `${base}/api/users/me`, headers: auth, connections: 10, overallRate: halfRate, duration: Math.max(DURATION_S, 15) });

    process.stdout.write('bench: bare Express, the same way\n');
    await load({ url: `${bareBase}/health`, duration: 3 });
    const bareHealth = await load({ url: `${bareBase}/health` });
    // The floor of this machine and load generator: a trivial handler at the same offered rate.
    const bareHalf = await load({ url: `${bareBase}/health`, connections: 10, overallRate: halfRate, duration: Math.max(DURATION_S, 15) });
    await stop(bare);

    process.stdout.write('bench: dashboard over 1,000 sessions and 50,000 entries at 20 requests/s\n');
    const heavyToken = await login(base, users.heavy);
    const dashboard = await load({
      url: `${base}/api/dashboard/summary?days=30`,
      headers: { authorization: `Bearer ${heavyToken}` },
      connections: 10,
      overallRate: 20,
      duration: 20,
    });

    process.stdout.write('bench: login at 5 requests/s\n');
    const loginRun = await load({
      url: `${base}/api/auth/login`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: users.light, password: BENCH_PASSWORD, transport: 'body' }),
      connections: 5,
      overallRate: 5,
      duration: 10,
    });

    process.stdout.write(`bench: ${SOAK_S} s soak at half the maximum rate, sampling memory\n`);
    const samples: { t: number; rssMb: number }[] = [];
    const soakStarted = Date.now();
    const sampler = setInterval(() => samples.push({ t: Math.round((Date.now() - soakStarted) / 1000), rssMb: Math.round(rssKb(app.pid!) / 102.4) / 10 }), 5_000);
    const soak = await load({ url: `${base}/api/users/me`, headers: auth, overallRate: Math.round(meMax.rps / 2), duration: SOAK_S });
    clearInterval(sampler);
    const window = Math.max(1, Math.floor(samples.length / 5));
    const mean = (rows: typeof samples) => rows.reduce((sum, row) => sum + row.rssMb, 0) / rows.length;
    const early = mean(samples.slice(1, 1 + window));
    const late = mean(samples.slice(-window));

    Object.assign(results, { bareHealth, bareHalf, health, meMax, meHalf, dashboard, loginRun, soak, memory: { early, late, changePct: ((late - early) / early) * 100, samples } });
  } finally {
    await stop(app);
    await stop(bare);
    await dropDatabase(databaseUrl);
  }
  writeReport(results as unknown as Report);
}

interface Report {
  bareHealth: Run;
  bareHalf: Run;
  health: Run;
  meMax: Run;
  meHalf: Run;
  dashboard: Run;
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
    [`\`GET /api/users/me\` at half max (${Math.round(r.meMax.rps / 2)} req/s)`, `p50 ${r.meHalf.p50} ms, p99 ${r.meHalf.p99} ms (bare Express at the same rate: p99 ${r.bareHalf.p99} ms)`, 'p99 < 20 ms', verdict(r.meHalf.p99 < 20)],
    ['dashboard, 1,000 sessions / 50,000 entries, 20 req/s', `p50 ${r.dashboard.p50} ms, p99 ${r.dashboard.p99} ms`, 'p99 < 50 ms', verdict(r.dashboard.p99 < 50)],
    ['login at 5 req/s (one argon2id verification)', `p50 ${r.loginRun.p50} ms, p99 ${r.loginRun.p99} ms`, '<= 3 queries (proven by test)', 'see below'],
    [`memory over a ${SOAK_S} s soak at half max`, `${r.memory.early.toFixed(1)} MB → ${r.memory.late.toFixed(1)} MB (${r.memory.changePct.toFixed(1)} %)`, 'within 10 %', verdict(Math.abs(r.memory.changePct) <= 10)],
  ];
  const errors = [r.bareHealth, r.bareHalf, r.health, r.meMax, r.meHalf, r.dashboard, r.loginRun, r.soak].reduce((sum, run) => sum + run.errors + run.non2xx, 0);
  const text = `# Performance

Measured by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}: the API built and started with
\`node dist/server.js\` in production mode on PostgreSQL 15 (local), pinned to core 0 with \`taskset\`; autocannon
in a second process pinned to core 1; a bare Express 5 app (bench/bare-server.ts) measured on core 0 in the same
run. Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node.js ${process.version}. Throughput runs: 50 connections,
${DURATION_S} s after a 3 s warm-up. Latency targets are taken at a fixed offered rate (half the measured maximum),
not at a fixed connection count. Rate limiters, helmet, CORS, morgan (JSON access log) and authentication all run
on every request, as in production.

| scenario | measured | target | |
| --- | --- | --- | --- |
${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}

Errors and non-2xx responses across all runs: ${errors}.

Raw figures (requests/s average, latency in ms):

| run | req/s | p50 | p99 | non-2xx | errors |
| --- | --- | --- | --- | --- | --- |
${Object.entries({ 'bare /health': r.bareHealth, 'bare /health at the half rate': r.bareHalf, '/health': r.health, '/api/users/me max': r.meMax, '/api/users/me half': r.meHalf, dashboard: r.dashboard, login: r.loginRun, soak: r.soak })
  .map(([name, run]) => `| ${name} | ${run.rps} | ${run.p50} | ${run.p99} | ${run.non2xx} | ${run.errors} |`)
  .join('\n')}

Memory samples during the soak (RSS, MB, every 5 s): ${r.memory.samples.map((sample) => sample.rssMb).join(', ')}.

Login: one argon2id verification (19 MiB, t=2, p=1) dominates its latency by design; the query budget (3: the account, its second factors, the session or challenge)
is proven by \`test/api/mfa-login.test.ts › the query budget of a sign-in\` counting queries, not by this benchmark.

Reproduce: \`npm run bench\` (needs PostgreSQL; \`BENCH_SOAK_S=60 npm run bench\` for a shorter soak).
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
