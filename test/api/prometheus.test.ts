import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createTestApp, LENIENT_LIMITS, type TestApp } from '../helpers/app.js';
import { findBinary, titleFor } from '../helpers/prometheus.js';

/**
 * The shipped alert rules, in a real Prometheus scraping a running Confidant over HTTP with
 * the METRICS_TOKEN: a burst of failed logins from one address must turn
 * ConfidantFailedLoginsFromOneAddress pending. The test copy of the rules differs only in
 * that alert's `for:` (long, so "pending" lasts while we look); scrapes and evaluations run
 * every second.
 */
const METRICS_TOKEN = 'metrics-token-for-the-prometheus-test';
const ALERT = 'ConfidantFailedLoginsFromOneAddress';
const RULES = fileURLToPath(new URL('../../ops/prometheus/alerts.yml', import.meta.url));
const DASHBOARD = fileURLToPath(new URL('../../ops/grafana/dashboards/confidant.json', import.meta.url));
const prometheus = findBinary('prometheus');

interface Alert {
  labels: { alertname: string };
  state: 'pending' | 'firing';
}

async function freePort(): Promise<number> {
  const server = createTcpServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls until `check` returns a value; the bound is generous, only a hang fails it. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, output: () => string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; Prometheus said:\n${output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function testRules(): string {
  const rules = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: { alert: string; for?: string }[] }[] };
  for (const rule of rules.groups.flatMap((group) => group.rules)) if (rule.alert === ALERT) rule.for = '10m';
  return stringify(rules);
}

describe.skipIf(!prometheus)(titleFor('alert rules in a real Prometheus scraping Confidant', prometheus, 'prometheus'), { timeout: 120_000 }, () => {
  let t: TestApp;
  let server: Server;
  let child: ChildProcess;
  let dir: string;
  let output = '';
  let api: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { ...LENIENT_LIMITS, METRICS_TOKEN } });
    server = createHttpServer(t.app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const appPort = (server.address() as AddressInfo).port;

    dir = mkdtempSync(join(tmpdir(), 'confidant-prometheus-'));
    writeFileSync(join(dir, 'token'), METRICS_TOKEN, { mode: 0o600 });
    writeFileSync(join(dir, 'alerts.yml'), testRules());
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: ['alerts.yml'],
        scrape_configs: [
          {
            job_name: 'confidant',
            authorization: { credentials_file: join(dir, 'token') },
            static_configs: [{ targets: [`127.0.0.1:${appPort}`] }],
          },
        ],
      }),
    );
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    child = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor('Prometheus to be ready', async () => ((await fetch(`${api}/-/ready`)).ok ? true : undefined), () => output);
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await new Promise((resolve) => server?.close(resolve));
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const alerts = async (): Promise<Alert[]> => ((await (await fetch(`${api}/api/v1/alerts`)).json()) as { data: { alerts: Alert[] } }).data.alerts;

  it('scrapes /metrics with the METRICS_TOKEN and loads every rule', async () => {
    const target = await waitFor(
      'the Confidant target to be up',
      async () => {
        const body = (await (await fetch(`${api}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string; lastError: string }[] } };
        return body.data.activeTargets.find((candidate) => candidate.health === 'up');
      },
      () => output,
    );
    expect(target.lastError).toBe('');
    const rules = (await (await fetch(`${api}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } };
    const loaded = rules.data.groups.flatMap((group) => group.rules);
    expect(loaded).toHaveLength(9);
    expect(loaded.filter((rule) => rule.health !== 'ok' && rule.health !== 'unknown')).toEqual([]);
    expect((await alerts()).filter((alert) => alert.labels.alertname === ALERT)).toEqual([]);
  });

  it('accepts every query of the Grafana dashboard (valid PromQL over the scraped series)', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    const queries = dashboard.panels.flatMap((panel) => panel.targets ?? []).map((target) => target.expr);
    expect(queries.length).toBeGreaterThan(10);
    for (const query of queries) {
      const body = (await (await fetch(`${api}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as { status: string; error?: string };
      expect(body, query).toMatchObject({ status: 'success' });
    }
  });

  it('turns ConfidantFailedLoginsFromOneAddress pending after a burst of failed logins from one address', async () => {
    for (let i = 0; i < 24; i += 1) {
      await request(t.app).post('/api/auth/login').send({ email: `nobody-${i}@example.com`, password: 'not-the-password-at-all' }).expect(401);
    }
    await t.context.events.flush();
    const pending = await waitFor(
      `${ALERT} to be pending`,
      async () => (await alerts()).find((alert) => alert.labels.alertname === ALERT && alert.state === 'pending'),
      () => output,
    );
    expect(pending.labels).toMatchObject({ alertname: ALERT, severity: 'ticket' });
  });
});
