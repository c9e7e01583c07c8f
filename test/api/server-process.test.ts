import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueryTypes } from 'sequelize';
import { afterEach, describe, expect, it } from 'vitest';
import { createSequelize } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrator.js';
import { createTestDatabase, postgresUrl } from '../helpers/database.js';
import { runServerToExit, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
const PRODUCTION_SECRETS = {
  AUTH_SECRET: randomBytes(32).toString('base64url'),
  DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
};

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'confidant-process-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function start(env: Record<string, string>): Promise<ServerProcess> {
  const server = await startServerProcess(env);
  cleanups.push(() => server.stop('SIGKILL'));
  return server;
}

/** Polls until `check` holds; the bound is generous, only a hang fails it. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const get = (server: ServerProcess, path: string) => fetch(`http://127.0.0.1:${server.port}${path}`);

function openSocket(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.once('error', reject);
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
  });
}

/** A start failure is one line on stderr naming what to change, exit status 1, and no stack. */
function expectOneLineFailure(result: { code: number | null; output: string }): string {
  expect(result.code).toBe(1);
  const lines = result.output.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(result.output).not.toMatch(/^\s+at /m);
  expect(result.output).not.toContain('request failed');
  return lines[0]!;
}

describe('server start-up refusals', () => {
  it('exits non-zero in production without DATABASE_URL and CORS_ORIGINS, with one line naming both', async () => {
    const { code, output } = await runServerToExit({ NODE_ENV: 'production', ...PRODUCTION_SECRETS });
    expect(code).not.toBe(0);
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('DATABASE_URL');
    expect(lines[0]).toContain('CORS_ORIGINS');
    expect(output).not.toContain(PRODUCTION_SECRETS.AUTH_SECRET);
  });

  it('exits 1 with one line naming the port and PORT when the port is taken', async () => {
    const taken = createTcpServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => taken.close(resolve)));
    const { port } = taken.address() as AddressInfo;

    const line = expectOneLineFailure(await runServerToExit({ NODE_ENV: 'development', DATA_DIR: tempDataDir(), PORT: String(port), LOG_LEVEL: 'info' }));
    expect(line).toContain(`127.0.0.1:${port}`);
    expect(line).toMatch(/in use.*\bPORT\b/);
  });

  it('exits 1 with one line for an empty PORT= instead of picking a random port', async () => {
    const line = expectOneLineFailure(await runServerToExit({ NODE_ENV: 'development', DATA_DIR: tempDataDir(), PORT: '' }));
    expect(line).toMatch(/PORT: is empty/);
  });

  it('exits 1 with one line for an invalid value in development too', async () => {
    const line = expectOneLineFailure(await runServerToExit({ NODE_ENV: 'development', DATA_DIR: tempDataDir(), TRUST_PROXY: 'yes' }));
    expect(line).toContain('TRUST_PROXY');
  });
});

describe.skipIf(!postgresUrl)('production started before npm run db:migrate', () => {
  it('says once that the schema is missing and names the command, reports pending migrations, and gets ready once migrated', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const server = await start({
      NODE_ENV: 'production',
      STORAGE_LOCAL_ALLOWED: 'true',
      HOST: '127.0.0.1',
      CORS_ORIGINS: 'https://app.example.com',
      ...database.env,
      ...PRODUCTION_SECRETS,
    });
    await waitFor('the schema message', () => server.output().includes('database schema is missing'));
    const ready = await get(server, '/health/ready');
    expect(ready.status).toBe(503);
    const expected = readdirSync(MIGRATIONS_DIR).filter((name) => name.endsWith('.cjs')).sort();
    expect(await ready.json()).toMatchObject({ code: 'NOT_READY', checks: { schema: { status: 'down', pendingMigrations: expected } } });
    const schemaLines = server.output().split('\n').filter((line) => line.includes('database schema'));
    expect(schemaLines).toHaveLength(1);
    expect(schemaLines[0]).toContain('npm run db:migrate');
    expect(server.output()).not.toContain('does not exist');
    expect(server.output()).not.toMatch(/^\s+at /m);

    const sequelize = createSequelize({ dataDir: '', database: { url: database.env.DATABASE_URL, poolMax: 1, readyTimeoutMs: 1000 } });
    try {
      await migrate(sequelize);
    } finally {
      await sequelize.close();
    }
    await waitFor('readiness after the migration', async () => (await get(server, '/health/ready')).status === 200);
    expect(await server.stop('SIGTERM')).toBe(0);
  }, 60_000);
});

describe('a log reader that goes away', () => {
  it('keeps serving /health, says so once on stderr, and still stops cleanly on SIGTERM', async () => {
    const server = await start({ NODE_ENV: 'development', DATA_DIR: tempDataDir() });
    await waitFor('readiness', async () => (await get(server, '/health/ready')).status === 200);
    server.child.stdout!.destroy(); // like `npm start | head -c 300` once head has read enough

    for (let i = 0; i < 20; i += 1) expect((await get(server, '/health')).status).toBe(200);
    await waitFor('the notice on stderr', () => server.output().includes('log output to stdout failed'));
    expect(server.output().match(/log output to stdout failed/g)).toHaveLength(1);
    expect((await get(server, '/health')).status).toBe(200);
    expect(await server.stop('SIGTERM')).toBe(0);
  }, 60_000);
});

describe('development start', () => {
  it('creates and migrates the SQLite file under DATA_DIR, says where it listens, and answers /health', async () => {
    const dataDir = tempDataDir();
    const server = await start({ NODE_ENV: 'development', DATA_DIR: dataDir });
    expect(server.output()).toContain(`listening on http://127.0.0.1:${server.port}`);

    await waitFor('readiness', async () => (await get(server, '/health/ready')).status === 200);
    const health = await get(server, '/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', version: expect.any(String) });

    const file = join(dataDir, 'confidant.sqlite');
    expect(existsSync(file)).toBe(true);
    expect(existsSync(join(dataDir, 'dev-secrets.json'))).toBe(true);
    const sequelize = createSequelize({ dataDir, database: { url: undefined, poolMax: 1, readyTimeoutMs: 1000 } });
    try {
      const applied = await sequelize.query<{ name: string }>('SELECT name FROM "SequelizeMeta"', { type: QueryTypes.SELECT });
      const expected = readdirSync(MIGRATIONS_DIR).filter((name) => name.endsWith('.cjs'));
      expect(applied.map((row) => row.name).sort()).toEqual(expected.sort());
    } finally {
      await sequelize.close();
    }
    expect(await server.stop('SIGTERM')).toBe(0);
  });
});

describe('database unreachable at start', () => {
  it('stays up: /health is 200, /health/ready is 503, and it keeps retrying', async () => {
    const server = await start({
      NODE_ENV: 'production',
      STORAGE_LOCAL_ALLOWED: 'true',
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgres://x@127.0.0.1:1/x',
      CORS_ORIGINS: 'https://app.example.com',
      DB_READY_TIMEOUT_MS: '1000',
      ...PRODUCTION_SECRETS,
    });
    const health = await get(server, '/health');
    expect(health.status).toBe(200);

    const ready = await get(server, '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await ready.json()).toMatchObject({ code: 'NOT_READY', checks: { database: { status: 'down' } } });

    await waitFor('a second connection attempt', () => /"attempt":2\b/.test(server.output()));
    expect(server.child.exitCode).toBeNull();
    // Probes while it is away log the change once, at WARN, not a line per probe.
    for (let i = 0; i < 5; i += 1) expect((await get(server, '/health/ready')).status).toBe(503);
    const readinessLines = server.output().split('\n').filter((line) => line.includes('readiness') || line.includes('NOT_READY'));
    expect(readinessLines).toHaveLength(1);
    expect(readinessLines[0]).toMatch(/"level":"warn".*readiness: database is down/);
    expect(server.output()).not.toMatch(/"level":"error"/);
    expect((await get(server, '/health')).status).toBe(200);
    expect(await server.stop('SIGTERM')).toBe(0);
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM finishes a request in flight, refuses new connections and exits 0', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    // SHUTDOWN_TIMEOUT_S far above the test timeout: the process must let go of the client itself.
    const server = await start({ NODE_ENV: 'test', SHUTDOWN_TIMEOUT_S: '120', ...database.env });
    await waitFor('readiness', async () => (await get(server, '/health/ready')).status === 200);

    const body = JSON.stringify({ note: 'finished after SIGTERM', padding: 'x'.repeat(200) });
    const client = await openSocket(server.port);
    client.socket.write(
      'POST /api/shutdown-probe HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nX-Request-Id: in-flight-1\r\n\r\n`,
    );
    // 100 Continue means the server has the headers: the request is in flight.
    await waitFor('100 Continue', () => client.received().startsWith('HTTP/1.1 100 Continue'));
    client.socket.write(body.slice(0, 20));

    const exited = server.stop('SIGTERM');
    await waitFor('the shutdown to begin', () => server.output().includes('shutting down'));
    await expect(get(server, '/health')).rejects.toThrow();

    client.socket.write(body.slice(20));
    await client.closed;
    const response = client.received().replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
    expect(response).toMatch(/^HTTP\/1\.1 404 /);
    expect(response).toContain('"code":"ROUTE_NOT_FOUND"');
    expect(response).toContain('"requestId":"in-flight-1"');
    expect(await exited).toBe(0);
    expect(server.output()).toContain('"msg":"stopped"');
  }, 60_000);
});

describe('slow clients', () => {
  it('cuts off a client that never finishes its headers, and keeps serving others', async () => {
    const server = await start({ NODE_ENV: 'test', DATA_DIR: tempDataDir(), HEADERS_TIMEOUT_S: '1' });
    const slow = await openSocket(server.port);
    const started = Date.now();
    slow.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    await slow.closed;
    // Generous: a 1 s headers timeout must not let the socket live anywhere near the default 30 s check interval.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect((await get(server, '/health')).status).toBe(200);
  }, 60_000);
});
