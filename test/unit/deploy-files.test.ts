import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import { createTestDatabase, postgresUrl } from '../helpers/database.js';

// What can be proven about the deploy files without Docker or Render: their shape, and
// that the built server boots in production from a tree it is not allowed to write.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Keys of the zod schema in src/config/env.ts, read from its text (the schema is not exported). */
function schemaKeys(): string[] {
  const body = /const envSchema = z\.object\(\{\n([\s\S]*?)\n\}\);/.exec(read('src/config/env.ts'))?.[1];
  if (!body) throw new Error('envSchema = z.object({ ... }) not found in src/config/env.ts');
  return [...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((match) => match[1] as string);
}

/** Dockerfile stages, continuation lines joined; each starts with its FROM line. */
function dockerStages(): string[] {
  const text = read('Dockerfile').replace(/\\\n/g, ' ');
  return text.split(/^(?=FROM\s)/m).filter((stage) => stage.startsWith('FROM'));
}

function instructions(stage: string, name: string): string[] {
  return [...stage.matchAll(new RegExp(`^${name}\\s+(.+)$`, 'gm'))].map((match) => (match[1] as string).trim());
}

/** Node's current LTS line, which the image and Render run; package.json's engines is the floor. */
const NODE_LTS_MAJOR = '24';
/** How the Dockerfile and Render reduce the build's install to what production runs. */
const PRODUCTION_PRUNE = 'npm prune --omit=dev --omit=optional';

describe('package.json', () => {
  const manifest = JSON.parse(read('package.json')) as {
    engines: { node: string };
    dependencies: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };

  it('supports Node 20.19 and newer, the floor CI runs on', () => {
    expect(manifest.engines.node).toBe('>=20.19');
  });

  it('is tested in CI on the Node line production runs, too', () => {
    expect(read('.ci/run')).toMatch(new RegExp(`^NODE_LTS=${NODE_LTS_MAJOR}\\b`, 'm'));
  });

  it('makes sqlite3 optional, so a production install can leave it out', () => {
    expect(manifest.dependencies).not.toHaveProperty('sqlite3');
    expect(manifest.optionalDependencies).toHaveProperty('sqlite3');
    // The Node SDK brings OpenTelemetry and bundler tooling; @sentry/core does what the app needs.
    expect(manifest.dependencies).not.toHaveProperty('@sentry/node');
    expect(manifest.dependencies).toHaveProperty('@sentry/core');
  });
});

describe('Dockerfile', () => {
  const stages = dockerStages();
  const runtime = stages.at(-1) ?? '';

  it(`is multi-stage: a named build stage on node:${NODE_LTS_MAJOR}-bookworm-slim and a separate runtime stage`, () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]).toMatch(new RegExp(`^FROM node:${NODE_LTS_MAJOR}-bookworm-slim AS build\\b`));
    expect(runtime).toMatch(new RegExp(`^FROM node:${NODE_LTS_MAJOR}-bookworm-slim AS \\w+`));
    expect(runtime).toMatch(/^COPY --from=build .*node_modules/m);
    expect(runtime).not.toMatch(/npm (ci|install)\b/);
  });

  it('prunes devDependencies and optional ones (sqlite3) in the build stage', () => {
    expect(stages[0]).toMatch(/npm ci --include=dev --omit=optional\b/);
    expect(stages[0]).toContain(PRODUCTION_PRUNE);
    expect(stages[0]).toMatch(/test ! -e node_modules\/sqlite3/);
  });

  it('runs the runtime stage as a non-root user', () => {
    const user = instructions(runtime, 'USER').at(-1);
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
  });

  it('has a HEALTHCHECK on /health and starts node dist/server.js in production', () => {
    expect(instructions(runtime, 'HEALTHCHECK').join('\n')).toMatch(/\/health\b/);
    expect(instructions(runtime, 'CMD').map((cmd) => JSON.parse(cmd) as unknown)).toEqual([['node', 'dist/server.js']]);
    expect(runtime).toMatch(/^ENV NODE_ENV=production\b/m);
    expect(runtime).toMatch(/^EXPOSE 3000$/m);
  });

  it('ships what sequelize-cli needs for migrations in the runtime image', () => {
    for (const path of ['migrations', '.sequelizerc', 'src/config/database.cjs', 'package.json']) {
      expect(runtime, path).toContain(path);
    }
  });

  it('keeps local state and secrets out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
    for (const entry of ['node_modules', 'dist', 'data', '.env*', '.git', 'test', 'coverage', 'docs', 'secrets']) {
      expect(ignored, entry).toContain(entry);
    }
  });
});

interface EnvVar {
  key: string;
  value?: string;
  generateValue?: boolean;
  sync?: boolean;
  fromDatabase?: { name: string; property: string };
  fromService?: { type: string; name: string; property: string };
}
interface Service {
  type: string;
  name: string;
  runtime?: string;
  buildCommand?: string;
  startCommand?: string;
  preDeployCommand?: string;
  healthCheckPath?: string;
  ipAllowList?: unknown[];
  envVars?: EnvVar[];
}
interface Blueprint {
  services: Service[];
  databases?: { name: string; ipAllowList?: unknown[] }[];
}

describe('render.yaml', () => {
  const blueprint = parseYaml(read('render.yaml')) as Blueprint;
  const web = blueprint.services.find((service) => service.type === 'web');
  const envVar = (key: string) => web?.envVars?.find((entry) => entry.key === key);

  it('declares a node web service that builds, migrates before deploy and starts the build', () => {
    expect(web).toMatchObject({ runtime: 'node', startCommand: 'node dist/server.js', healthCheckPath: '/health/ready' });
    expect(web?.preDeployCommand).toMatch(/\bdb:migrate\b/);
    expect(web?.buildCommand).toMatch(/npm run build/);
    // Render exposes NODE_ENV=production to the build, where a plain `npm ci` skips TypeScript.
    expect(web?.buildCommand).toMatch(/npm ci --include=dev --omit=optional\b/);
    expect(web?.buildCommand).toContain(PRODUCTION_PRUNE);
  });

  it('pins the Node LTS line the image runs (engines alone has no upper bound)', () => {
    expect(envVar('NODE_VERSION')?.value).toBe(NODE_LTS_MAJOR);
  });

  it('generates the two secrets and never commits a value for a secret', () => {
    expect(envVar('AUTH_SECRET')).toEqual({ key: 'AUTH_SECRET', generateValue: true });
    expect(envVar('DATA_ENCRYPTION_KEY')).toEqual({ key: 'DATA_ENCRYPTION_KEY', generateValue: true });
    for (const key of ['DATABASE_URL', 'REDIS_URL', 'AUTH_SECRET', 'DATA_ENCRYPTION_KEY', 'MONITORING_TOKEN', 'SMTP_URL', 'SENTRY_DSN']) {
      expect(envVar(key)?.value, key).toBeUndefined();
    }
  });

  it('wires DATABASE_URL and REDIS_URL to resources it declares, reachable only inside Render', () => {
    const database = blueprint.databases?.find((entry) => entry.name === envVar('DATABASE_URL')?.fromDatabase?.name);
    expect(envVar('DATABASE_URL')?.fromDatabase?.property).toBe('connectionString');
    expect(database).toBeDefined();

    const redis = envVar('REDIS_URL')?.fromService;
    expect(redis).toMatchObject({ type: 'keyvalue', property: 'connectionString' });
    const keyValue = blueprint.services.find((service) => service.type === 'keyvalue' && service.name === redis?.name);
    expect(keyValue?.ipAllowList).toEqual([]);
  });

  it('sets production, one trusted proxy, and asks for the addresses in the Dashboard', () => {
    expect(envVar('NODE_ENV')?.value).toBe('production');
    expect(envVar('TRUST_PROXY')?.value).toBe('1');
    for (const key of ['CORS_ORIGINS', 'PUBLIC_URL', 'APP_URL']) expect(envVar(key), key).toEqual({ key, sync: false });
  });

  it('names only variables the app reads (or NODE_VERSION, which Render reads)', () => {
    const known = new Set([...schemaKeys(), 'NODE_VERSION']);
    const unknown = (web?.envVars ?? []).map((entry) => entry.key).filter((key) => !known.has(key));
    expect(unknown).toEqual([]);
  });
});

describe('.env.example', () => {
  const example = read('.env.example');
  const listed = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((match) => ({
    key: match[1] as string,
    value: match[2] as string,
  }));
  const listedKeys = listed.map((entry) => entry.key);
  const keys = schemaKeys();

  it('lists every variable of the env schema, plus MIGRATION_DATABASE_URL, and nothing else', () => {
    expect(keys.length).toBeGreaterThan(30); // the schema was found and read
    expect(keys.filter((key) => !listedKeys.includes(key))).toEqual([]);
    expect(listedKeys).toContain('MIGRATION_DATABASE_URL');
    // MIGRATION_DATABASE_URL (sequelize-cli) and APP_DB_* (npm run db:create-app-role) are read outside the schema.
    const outsideSchema = ['MIGRATION_DATABASE_URL', 'APP_DB_USER', 'APP_DB_PASSWORD'];
    expect(listedKeys.filter((key) => !keys.includes(key) && !outsideSchema.includes(key))).toEqual([]);
  });

  it('gives each variable a comment line above it', () => {
    const lines = example.split('\n');
    lines.forEach((line, index) => {
      if (!/^#?\s*[A-Z][A-Z0-9_]*=/.test(line)) return;
      const above = lines.slice(0, index).reverse().find((candidate) => !/^#?\s*[A-Z][A-Z0-9_]*=/.test(candidate));
      expect(above, line).toMatch(/^# \S/);
    });
  });

  it('leaves secrets commented out, and its active lines are a valid configuration', () => {
    const active = parseEnv(example);
    for (const key of ['AUTH_SECRET', 'DATA_ENCRYPTION_KEY', 'MONITORING_TOKEN', 'DATABASE_URL', 'SMTP_URL', 'SENTRY_DSN']) {
      expect(active[key], key).toBeUndefined();
    }
    expect(() => loadConfig({ ...active, NODE_ENV: 'test' })).not.toThrow();
  });

  it('shows placeholder secrets that production refuses', () => {
    const value = (key: string) => listed.find((entry) => entry.key === key)?.value ?? '';
    const start = () =>
      loadConfig({
        NODE_ENV: 'production',
        STORAGE_LOCAL_ALLOWED: 'true',
        DATABASE_URL: 'postgres://app@127.0.0.1:5432/confidant',
        CORS_ORIGINS: 'https://app.example.com',
        AUTH_SECRET: value('AUTH_SECRET'),
        DATA_ENCRYPTION_KEY: value('DATA_ENCRYPTION_KEY'),
      });
    expect(start).toThrow(ConfigError);
    expect(start).toThrow(/AUTH_SECRET is a placeholder.*DATA_ENCRYPTION_KEY is a placeholder/);
  });
});

/** Every path under `dir` with its size and mtime; symlinks are listed, not followed. */
function snapshot(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = lstatSync(path);
    const entry = `${prefix}${name} ${stat.isDirectory() ? 'dir' : stat.size} ${stat.mtimeMs}`;
    return stat.isDirectory() ? [entry, ...snapshot(path, `${prefix}${name}/`)] : [entry];
  });
}

/** Drops (or restores) write permission on a tree. Root ignores it; the snapshot still tells. */
function setWritable(dir: string, writable: boolean): void {
  chmodSync(dir, writable ? 0o755 : 0o555);
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) continue;
    if (stat.isDirectory()) setWritable(path, writable);
    else chmodSync(path, writable ? 0o644 : 0o444);
  }
}

/** The runtime image's files (see Dockerfile), with `nodeModules` linked rather than copied. */
function copyRuntimeTree(nodeModules: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'confidant-readonly-'));
  for (const path of ['dist', 'migrations', 'seeders', 'package.json', '.sequelizerc', 'src/config/database.cjs']) {
    if (!existsSync(join(ROOT, path))) continue;
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    cpSync(join(ROOT, path), join(dir, path), { recursive: true });
  }
  symlinkSync(nodeModules, join(dir, 'node_modules'), 'dir');
  setWritable(dir, false);
  return dir;
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await sleep(100);
  }
}

/** Runs a command to completion, collecting what it prints. */
async function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

/**
 * The production install the image ships: this checkout's node_modules, hard-linked (cheap,
 * nothing is written through the links), then pruned offline with the Dockerfile's command.
 * It sits outside the runtime tree, so a package resolving `sqlite3` finds it only if the
 * prune kept it.
 */
async function productionInstall(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'confidant-production-install-'));
  for (const file of ['package.json', 'package-lock.json']) cpSync(join(ROOT, file), join(dir, file));
  const linked = await run('cp', ['-al', join(ROOT, 'node_modules'), join(dir, 'node_modules')], dir, process.env);
  if (linked.code !== 0) cpSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  // npm rewrites this file: a copy, so the checkout's own stays as it is.
  rmSync(join(dir, 'node_modules', '.package-lock.json'), { force: true });
  cpSync(join(ROOT, 'node_modules', '.package-lock.json'), join(dir, 'node_modules', '.package-lock.json'));
  const [npm, ...args] = [...PRODUCTION_PRUNE.split(' '), '--offline', '--ignore-scripts', '--no-audit', '--no-fund'];
  const pruned = await run(npm as string, args, dir, { ...process.env, NODE_ENV: 'production' });
  if (pruned.code !== 0) throw new Error(`${PRODUCTION_PRUNE} failed:\n${pruned.output}`);
  return dir;
}

const built = existsSync(join(ROOT, 'dist', 'server.js'));

describe('the built server', () => {
  let install = '';
  beforeAll(async () => {
    if (built) install = await productionInstall();
  }, 60_000);
  afterAll(() => {
    if (install) rmSync(install, { recursive: true, force: true });
  });

  it.skipIf(!built)('runs from a production install without sqlite3 (pruned like the image)', () => {
    expect(existsSync(join(install, 'node_modules', 'sequelize'))).toBe(true);
    expect(existsSync(join(install, 'node_modules', 'sqlite3'))).toBe(false);
    expect(existsSync(join(install, 'node_modules', 'typescript'))).toBe(false);
  });

  it.skipIf(!built)('without sqlite3 and without DATABASE_URL, fails to start with one line saying what to do', async () => {
    const dir = copyRuntimeTree(join(install, 'node_modules'));
    const dataDir = mkdtempSync(join(tmpdir(), 'confidant-no-sqlite-'));
    try {
      const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), NODE_ENV: 'development', DATA_DIR: dataDir, PORT: '0' };
      const { code, output } = await run(process.execPath, ['dist/server.js'], dir, env);
      expect(code, output).toBe(1);
      const lines = output.trim().split('\n');
      expect(lines, output).toHaveLength(1);
      expect(lines[0]).toMatch(/^Configuration error: DATABASE_URL is not set, and the embedded SQLite database needs the optional sqlite3 package/);
      expect(lines[0]).toMatch(/npm install sqlite3/);
      expect(output).not.toMatch(/\n\s+at /); // no stack
    } finally {
      setWritable(dir, true);
      rmSync(dir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.skipIf(!built || !postgresUrl)(
    'migrates with the preDeployCommand, then starts in production from a read-only copy and writes nothing',
    async () => {
      const database = await createTestDatabase(); // a fresh PostgreSQL database, nothing applied
      const dir = copyRuntimeTree(join(install, 'node_modules'));
      const before = snapshot(dir);
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? tmpdir(),
        NODE_ENV: 'production',
        STORAGE_LOCAL_ALLOWED: 'true',
        DATABASE_URL: database.env.DATABASE_URL,
        CORS_ORIGINS: 'https://app.example.com',
        AUTH_SECRET: 'a'.repeat(20) + 'test-auth-secret-of-40-bytes',
        DATA_ENCRYPTION_KEY: 'b'.repeat(20) + 'test-data-key-of-40-bytes',
        PORT: '0',
        LOG_LEVEL: 'info',
      };
      let child: ReturnType<typeof spawn> | undefined;
      let output = '';
      try {
        // Production never migrates on boot: the deploy step does, from the same files.
        const migration = await run('npm', ['run', 'db:migrate'], dir, env);
        expect(migration.code, migration.output).toBe(0);

        child = spawn(process.execPath, ['dist/server.js'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
        const server = child;
        server.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        server.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const exited = () => {
          if (server.exitCode !== null) throw new Error(`server exited with ${server.exitCode}:\n${output}`);
        };
        let port = 0;
        await waitFor(
          () => {
            exited();
            port = Number(/listening on http:\/\/[^:\s"]+:(\d+)/.exec(output)?.[1] ?? 0);
            return port > 0;
          },
          15_000,
          () => `"listening on":\n${output}`,
        );
        await waitFor(
          async () => {
            exited();
            return (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200;
          },
          15_000,
          () => `/health/ready to answer 200:\n${output}`,
        );
        expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);

        server.kill('SIGTERM');
        const [code] = (await once(server, 'exit')) as [number | null];
        expect(code, output).toBe(0);
        expect(snapshot(dir)).toEqual(before);
      } finally {
        if (child && child.exitCode === null) child.kill('SIGKILL');
        setWritable(dir, true);
        rmSync(dir, { recursive: true, force: true });
        await database.drop();
      }
    },
    60_000,
  );
});

interface ComposeService {
  build?: unknown;
  image?: string;
  command?: string | string[];
  user?: string;
  read_only?: boolean;
  tmpfs?: string | string[];
  cap_drop?: string[];
  security_opt?: string[];
  mem_limit?: string;
  cpus?: number | string;
  deploy?: { resources?: { limits?: { cpus?: number | string; memory?: string; pids?: number } } };
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }> | string[];
  environment?: Record<string, string>;
  profiles?: string[];
  volumes?: string[];
  secrets?: (string | { source: string; target?: string })[];
  ports?: unknown[];
  expose?: unknown[];
  networks?: string[];
  network_mode?: string;
  privileged?: boolean;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file?: string; environment?: string }>;
  networks?: Record<string, { internal?: boolean } | null>;
}

describe('docker-compose.yml', () => {
  const compose = parseYaml(read('docker-compose.yml')) as ComposeFile;
  const everything = compose.services ?? {};
  /** What `docker compose up` starts; the monitoring profile adds Prometheus and Grafana. */
  const services = Object.fromEntries(Object.entries(everything).filter(([, service]) => !service.profiles));
  const { app, migrate, postgres, redis } = services;
  const { prometheus, grafana } = everything;
  const healthTest = (service: ComposeService | undefined) => [service?.healthcheck?.test ?? []].flat().join(' ');
  const tmpfsTargets = (service: ComposeService | undefined) => [service?.tmpfs ?? []].flat().map((entry) => entry.split(':')[0]);
  const secretNames = (service: ComposeService | undefined) =>
    (service?.secrets ?? []).map((entry) => (typeof entry === 'string' ? entry : entry.source));

  it('parses as YAML with the app, a one-shot migrate step, PostgreSQL 16 and Redis 7', () => {
    expect(Object.keys(services).sort()).toEqual(['app', 'migrate', 'postgres', 'redis']);
    expect(app?.build).toBe('.');
    expect(migrate?.image).toBe(app?.image); // the same image runs the deploy step
    expect(postgres?.image).toMatch(/^postgres:16-alpine$/);
    expect(redis?.image).toMatch(/^redis:7-alpine$/);
  });

  it('hardens every container: read-only root, tmpfs for what must be written, no capabilities, no-new-privileges', () => {
    for (const [name, service] of Object.entries(everything)) {
      expect(service.read_only, name).toBe(true);
      expect(service.cap_drop, name).toContain('ALL');
      expect(service.security_opt, name).toContain('no-new-privileges:true');
      expect(service.privileged ?? false, name).toBe(false);
      expect(service.network_mode, name).toBeUndefined();
    }
    expect(tmpfsTargets(app)).toEqual(['/tmp']);
    expect(tmpfsTargets(migrate)).toEqual(['/tmp']);
    expect(tmpfsTargets(postgres)).toEqual(expect.arrayContaining(['/var/run/postgresql', '/tmp']));
    // Dropping every capability means no root-only entrypoint steps: the images' own users run them.
    expect(postgres?.user).toBe('postgres');
    expect(redis?.user).toBe('redis');
  });

  it('limits CPU and memory (and PIDs) for every container', () => {
    for (const [name, service] of Object.entries(everything)) {
      const limits = service.deploy?.resources?.limits;
      expect(limits?.cpus ?? service.cpus, name).toBeDefined();
      expect(limits?.memory ?? service.mem_limit, name).toMatch(/^\d+[kKmMgG]$/);
      expect(limits?.pids, name).toBeGreaterThan(0);
    }
  });

  it('health-checks the app on /health, PostgreSQL with pg_isready and Redis with redis-cli ping', () => {
    expect(healthTest(app)).toMatch(/^CMD node -e .*fetch\('http:\/\/127\.0\.0\.1:3000\/health'\)/);
    expect(healthTest(postgres)).toMatch(/^CMD pg_isready\b/);
    expect(healthTest(redis)).toMatch(/^CMD redis-cli ping$/);
    for (const service of [app, postgres, redis]) expect(service?.healthcheck?.disable).toBeUndefined();
  });

  it('starts the app once PostgreSQL and Redis are healthy and migrations have completed', () => {
    expect(app?.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
      migrate: { condition: 'service_completed_successfully' },
    });
    expect(migrate?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
  });

  it('publishes only the app port; PostgreSQL and Redis sit on an internal network', () => {
    expect(app?.ports).toEqual(['3000:3000']);
    for (const name of ['migrate', 'postgres', 'redis']) {
      expect(services[name]?.ports, name).toBeUndefined();
      expect(services[name]?.networks, name).toEqual(['backend']);
    }
    expect(compose.networks?.backend).toEqual({ internal: true });
  });

  it('runs the app in production as the DML-only role, with every secret read from a file', () => {
    const env = app?.environment ?? {};
    expect(env).toMatchObject({ NODE_ENV: 'production', TRUST_PROXY: '0', REDIS_URL: 'redis://redis:6379' });
    expect(env.CORS_ORIGINS).toBeTruthy();
    expect(env.PUBLIC_URL).toBeTruthy();
    for (const key of ['DATABASE_URL', 'AUTH_SECRET', 'DATA_ENCRYPTION_KEY']) {
      expect(env[key], key).toBeUndefined();
      const secret = /^\/run\/secrets\/([a-z_]+)$/.exec(env[`${key}_FILE`] ?? '')?.[1];
      expect(secret, `${key}_FILE`).toBeDefined();
      expect(secretNames(app), key).toContain(secret);
    }
    expect(env.DATABASE_URL_FILE).toBe('/run/secrets/app_database_url');
    // Only variables the app reads (src/config/env.ts), or their _FILE forms.
    const known = new Set(schemaKeys());
    expect(Object.keys(env).filter((key) => !known.has(key.replace(/_FILE$/, '')))).toEqual([]);
  });

  it('migrates as the owner, then creates the app role, all from secret files', () => {
    expect([migrate?.command ?? []].flat().join(' ')).toMatch(/npm run db:migrate && npm run db:create-app-role/);
    const env = migrate?.environment ?? {};
    expect(env.MIGRATION_DATABASE_URL_FILE).toBe('/run/secrets/owner_database_url');
    expect(env.APP_DB_PASSWORD_FILE).toBe('/run/secrets/app_db_password');
    expect(env.APP_DB_USER).toMatch(/^[a-z_][a-z0-9_]{0,62}$/);
    expect(secretNames(migrate).sort()).toEqual(['app_db_password', 'owner_database_url']);
    for (const key of ['DATABASE_URL', 'MIGRATION_DATABASE_URL', 'APP_DB_PASSWORD']) expect(env[key], key).toBeUndefined();
    expect(postgres?.environment?.POSTGRES_PASSWORD).toBeUndefined();
    expect(postgres?.environment?.POSTGRES_PASSWORD_FILE).toBe('/run/secrets/postgres_password');
    expect(secretNames(postgres)).toEqual(['postgres_password']);
  });

  it('takes secrets from gitignored files under ./secrets/, never from values in the file', () => {
    const secrets = Object.entries(compose.secrets ?? {});
    expect(secrets.length).toBeGreaterThan(0);
    for (const [name, secret] of secrets) expect(secret, name).toEqual({ file: `./secrets/${name}` });
    const used = new Set(Object.values(everything).flatMap((service) => secretNames(service)));
    expect([...used].sort()).toEqual(secrets.map(([name]) => name).sort());
    expect(read('.gitignore').split('\n').map((line) => line.trim())).toContain('secrets/');
    // No service carries a credential inline (the comments show how to build the files).
    expect(JSON.stringify(services)).not.toMatch(/(postgres(ql)?|rediss?):\/\/[^\s:@'"/]*:[^\s@'"/]+@/);
  });

  it('adds Prometheus and Grafana under the monitoring profile, on the loopback only, wired to the app, the rules and the dashboard', () => {
    expect(Object.keys(everything).filter((name) => everything[name]!.profiles).sort()).toEqual(['grafana', 'prometheus']);
    for (const service of [prometheus, grafana]) expect(service?.profiles).toEqual(['monitoring']);
    expect(prometheus?.ports).toEqual(['127.0.0.1:9090:9090']);
    expect(grafana?.ports).toEqual(['127.0.0.1:3001:3000']);
    // The scraper's credential is the METRICS_TOKEN, from the same secret file as the app's.
    expect(app?.environment?.METRICS_TOKEN_FILE).toBe('/run/secrets/metrics_token');
    expect(secretNames(prometheus)).toEqual(['metrics_token']);
    const scrape = parseYaml(read('ops/prometheus/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; authorization: { credentials_file: string }; static_configs: { targets: string[] }[] }[];
    };
    expect(scrape.scrape_configs).toHaveLength(1);
    expect(scrape.scrape_configs[0]).toMatchObject({ job_name: 'confidant', authorization: { credentials_file: '/run/secrets/metrics_token' }, static_configs: [{ targets: ['app:3000'] }] });
    expect(prometheus?.volumes).toEqual(expect.arrayContaining(['./ops/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro', `./ops/prometheus/alerts.yml:${scrape.rule_files[0]}:ro`]));
    // Grafana: Prometheus as the data source the dashboard names, and the dashboard folder.
    expect(grafana?.volumes).toEqual(expect.arrayContaining(['./ops/grafana/provisioning:/etc/grafana/provisioning:ro', './ops/grafana/dashboards:/etc/grafana/dashboards:ro']));
    const source = (parseYaml(read('ops/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { uid: string; url: string }[] }).datasources[0]!;
    expect(source.url).toBe('http://prometheus:9090');
    const provider = (parseYaml(read('ops/grafana/provisioning/dashboards/confidant.yml')) as { providers: { options: { path: string } }[] }).providers[0]!;
    expect(provider.options.path).toBe('/etc/grafana/dashboards');
    const dashboard = JSON.parse(read('ops/grafana/dashboards/confidant.json')) as { uid: string; panels: { type: string; datasource?: { uid: string } }[] };
    const uids = new Set(dashboard.panels.filter((panel) => panel.type !== 'row').map((panel) => panel.datasource?.uid));
    expect([...uids]).toEqual([source.uid]);
    expect(grafana?.environment?.GF_SECURITY_ADMIN_PASSWORD).toBeUndefined();
    expect(grafana?.environment?.GF_SECURITY_ADMIN_PASSWORD__FILE).toBe('/run/secrets/grafana_admin_password');
  });

  it('keeps Redis an in-memory cache: no RDB snapshots, no AOF', () => {
    const command = [redis?.command ?? []].flat();
    expect(command[0]).toBe('redis-server');
    expect(command.slice(command.indexOf('--save'), command.indexOf('--save') + 2)).toEqual(['--save', '']);
    expect(command.slice(command.indexOf('--appendonly'), command.indexOf('--appendonly') + 2)).toEqual(['--appendonly', 'no']);
  });

  it('documents the db:create-app-role variables in .env.example', () => {
    const example = read('.env.example');
    expect(example).toMatch(/^# APP_DB_USER=/m);
    expect(example).toMatch(/^# APP_DB_PASSWORD=/m);
  });
});
