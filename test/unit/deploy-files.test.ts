import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
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

describe('Dockerfile', () => {
  const stages = dockerStages();
  const runtime = stages.at(-1) ?? '';

  it('is multi-stage: a named build stage on node:20-bookworm-slim and a separate runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]).toMatch(/^FROM node:20-bookworm-slim AS build\b/);
    expect(runtime).toMatch(/^FROM node:20-bookworm-slim AS \w+/);
    expect(runtime).toMatch(/^COPY --from=build .*node_modules/m);
    expect(runtime).not.toMatch(/npm (ci|install)\b/);
  });

  it('prunes devDependencies in the build stage', () => {
    expect(stages[0]).toMatch(/npm prune --omit=dev/);
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
    for (const entry of ['node_modules', 'dist', 'data', '.env*', '.git', 'test', 'coverage', 'docs']) {
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
    expect(web?.buildCommand).toMatch(/npm ci --include=dev/);
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
    expect(listedKeys.filter((key) => !keys.includes(key) && key !== 'MIGRATION_DATABASE_URL')).toEqual([]);
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

/** The runtime image's files (see Dockerfile), with node_modules linked rather than copied. */
function copyRuntimeTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'confidant-readonly-'));
  for (const path of ['dist', 'migrations', 'seeders', 'package.json', '.sequelizerc', 'src/config/database.cjs']) {
    if (!existsSync(join(ROOT, path))) continue;
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    cpSync(join(ROOT, path), join(dir, path), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
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

const built = existsSync(join(ROOT, 'dist', 'server.js'));

describe('the built server', () => {
  it.skipIf(!built || !postgresUrl)(
    'migrates with the preDeployCommand, then starts in production from a read-only copy and writes nothing',
    async () => {
      const database = await createTestDatabase(); // a fresh PostgreSQL database, nothing applied
      const dir = copyRuntimeTree();
      const before = snapshot(dir);
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? tmpdir(),
        NODE_ENV: 'production',
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
