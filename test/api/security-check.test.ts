import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml, renderText, runSecurityCheck, type SecurityReport } from '../../src/cli/security-check/index.js';
import { runCli } from '../helpers/cli.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

/** The default CORS origin of the test configuration. */
const ALLOWED_ORIGIN = 'http://localhost:5173';
/** Response time is a benchmark's business (docs/DESIGN.md §10); here the threshold only has to never bite. */
const GENEROUS = { maxMs: 60_000, timeoutMs: 20_000 };

const servers: Server[] = [];

/** Serves a handler (or waits for an app's own `listen`) on 127.0.0.1 and returns its base URL. */
async function listen(handler: RequestListener | Server): Promise<string> {
  const server = typeof handler === 'function' ? createServer(handler).listen(0, '127.0.0.1') : handler;
  servers.push(server);
  if (!server.listening) await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await closeServer(server);
  return port;
}

/** The real app, with every header called `name` dropped before it reaches the wire. */
function withoutHeader(app: RequestListener, name: string): RequestListener {
  return (req, res) => {
    const setHeader = res.setHeader.bind(res);
    res.setHeader = ((header: string, value: number | string | readonly string[]) =>
      header.toLowerCase() === name.toLowerCase() ? res : setHeader(header, value)) as typeof res.setHeader;
    app(req, res);
  };
}


const failing = (report: SecurityReport) => report.results.filter((r) => !r.ok).map((r) => r.name);

describe('npm run security:check', () => {
  let t: TestApp;
  let goodUrl: string;
  let tmp: string;

  beforeAll(async () => {
    t = await createTestApp();
    goodUrl = await listen(t.app.listen(0, '127.0.0.1'));
    tmp = mkdtempSync(join(tmpdir(), 'confidant-security-check-'));
  });
  afterAll(async () => {
    await Promise.all(servers.splice(0).map(closeServer));
    rmSync(tmp, { recursive: true, force: true });
    await t.close();
  });

  describe('runSecurityCheck', () => {
    it('passes every check against the real app', async () => {
      const report = await runSecurityCheck(goodUrl, { origin: ALLOWED_ORIGIN, ...GENEROUS });
      expect(failing(report), renderText(report)).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.baseUrl).toBe(goodUrl);
      expect(Date.parse(report.startedAt)).not.toBeNaN();
      expect(report.durationMs).toBeGreaterThanOrEqual(0);
      const names = report.results.map((r) => r.name);
      for (const name of [
        'GET /health',
        'GET /health/ready',
        'JWKS',
        'response time',
        'Content-Security-Policy',
        'X-Frame-Options',
        'X-Content-Type-Options',
        'Referrer-Policy',
        'X-XSS-Protection',
        'Permissions-Policy',
        'no X-Powered-By',
        'Cache-Control no-store on /api',
        'Strict-Transport-Security',
        'CORS refuses unknown origin (GET)',
        'CORS refuses unknown origin (preflight)',
        'CORS allows origin (GET)',
        'CORS allows origin (preflight)',
        'rate-limit headers',
        'problem+json 404',
        'X-Request-Id echoed',
      ]) {
        expect(names).toContain(name);
      }
      // Plain HTTP without --expect-https: HSTS is not required, and the report says so.
      expect(report.results.find((r) => r.name === 'Strict-Transport-Security')).toMatchObject({ ok: true, skipped: true });
    });

    it('names the one failing check when the real app loses a single header', async () => {
      const url = await listen(withoutHeader(t.app, 'X-Frame-Options'));
      const report = await runSecurityCheck(url, { origin: ALLOWED_ORIGIN, ...GENEROUS });
      expect(report.ok).toBe(false);
      expect(failing(report)).toEqual(['X-Frame-Options']);
      expect(report.results.find((r) => r.name === 'X-Frame-Options')?.detail).toContain('missing');
    });

    it('fails a CORS allowlist that lets any origin in', async () => {
      const url = await listen((req, res) => {
        res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*');
        res.setHeader('Access-Control-Allow-Credentials', 'true');
        t.app(req, res);
      });
      const report = await runSecurityCheck(url, { origin: ALLOWED_ORIGIN, ...GENEROUS });
      expect(failing(report)).toEqual(['CORS refuses unknown origin (GET)', 'CORS refuses unknown origin (preflight)']);
    });

    it('fails nearly everything against a bare Express app', async () => {
      const bare = express();
      bare.get('/health', (_req, res) => {
        res.json({ status: 'ok' });
      });
      const report = await runSecurityCheck(await listen(bare.listen(0, '127.0.0.1')), GENEROUS);
      expect(report.ok).toBe(false);
      expect(failing(report)).toEqual(
        expect.arrayContaining([
          'GET /health/ready',
          'JWKS',
          'Content-Security-Policy',
          'X-Frame-Options',
          'no X-Powered-By',
          'rate-limit headers',
          'problem+json 404',
          'X-Request-Id echoed',
        ]),
      );
      expect(failing(report)).not.toContain('GET /health');
    });

    it('requires HSTS with --expect-https, and accepts a year with includeSubDomains', async () => {
      const without = await runSecurityCheck(goodUrl, { expectHttps: true, ...GENEROUS });
      expect(failing(without)).toEqual(['Strict-Transport-Security']);

      const withHsts = await listen((req, res) => {
        res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains; preload');
        t.app(req, res);
      });
      const report = await runSecurityCheck(withHsts, { expectHttps: true, ...GENEROUS });
      expect(failing(report)).toEqual([]);
      expect(report.results.find((r) => r.name === 'Strict-Transport-Security')).toMatchObject({ ok: true });
      expect(report.results.find((r) => r.name === 'Strict-Transport-Security')?.skipped).toBeUndefined();
    });

    it('enforces the response-time limit', async () => {
      const report = await runSecurityCheck(goodUrl, { maxMs: 0, timeoutMs: GENEROUS.timeoutMs });
      expect(failing(report)).toEqual(['response time']);
      expect(report.results.find((r) => r.name === 'response time')?.detail).toMatch(/^median .* over 5 GET \/health \(limit 0 ms;/);
    });

    it('reports an unreachable URL as one failed check, without throwing', async () => {
      const report = await runSecurityCheck(`http://127.0.0.1:${await closedPort()}`, GENEROUS);
      expect(report.ok).toBe(false);
      expect(report.results).toEqual([{ name: 'reachable', ok: false, detail: expect.stringContaining('ECONNREFUSED') }]);
    });
  });

  describe('renderText and renderHtml', () => {
    const hostile: SecurityReport = {
      baseUrl: 'http://127.0.0.1:1',
      ok: false,
      startedAt: '2026-01-01T00:00:00.000Z',
      durationMs: 12,
      results: [
        { name: 'GET /health', ok: true, detail: '200, status "ok"' },
        { name: 'X-Frame-Options', ok: false, detail: '<script>alert("x")</script> & <img src=x onerror=alert(1)>' },
      ],
    };

    it('renders every result in the HTML page with every value escaped', () => {
      const html = renderHtml(hostile);
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).toContain('GET /health');
      expect(html).toContain('X-Frame-Options');
      expect(html).toContain('FAIL: 1 of 2 checks failed');
      expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;');
      expect(html).not.toContain('<script');
      expect(html).not.toContain('<img');
      expect(html).toContain(`Content-Security-Policy" content="default-src 'none'; style-src 'sha256-`);
    });

    it('renders a text report with one line per check and a verdict', () => {
      const text = renderText({ ...hostile, results: [...hostile.results, { name: 'terminal', ok: true, detail: 'a\u001b[2Jb' }] });
      expect(text).toMatch(/PASS {2}GET \/health +200, status "ok"/);
      expect(text).toMatch(/FAIL {2}X-Frame-Options/);
      expect(text).toContain('a\\x1b[2Jb');
      expect(text).not.toContain('\u001b');
      expect(text.trim().split('\n').at(-1)).toBe('FAIL: 1 of 3 checks failed');
    });
  });

  describe('the CLI as a process', () => {
    it('exits 0 against the real app, prints the report and writes the HTML page', async () => {
      const html = join(tmp, 'good.html');
      const { code, stdout, stderr } = await runCli('src/cli/security-check.ts', { args: [goodUrl, '--origin', ALLOWED_ORIGIN, '--html', html, '--max-ms', '60000'], inheritEnv: true });
      expect(code, stdout + stderr).toBe(0);
      expect(stdout).toContain(`Confidant security check: ${goodUrl}`);
      expect(stdout).toMatch(/PASS: \d+ of \d+ checks passed/);
      expect(stdout).toContain(`HTML status page: ${html}`);
      const page = readFileSync(html, 'utf8');
      expect(page).toContain('CORS refuses unknown origin (preflight)');
      expect(page).toContain('class="banner pass"');
    }, 60_000);

    it('exits 1 against a closed port, and still writes the page', async () => {
      const html = join(tmp, 'closed.html');
      const { code, stdout } = await runCli('src/cli/security-check.ts', { args: [`http://127.0.0.1:${await closedPort()}`, '--html', html], inheritEnv: true });
      expect(code).toBe(1);
      expect(stdout).toMatch(/FAIL {2}reachable/);
      expect(existsSync(html)).toBe(true);
    }, 60_000);

    it('exits 2 on bad usage', async () => {
      const [missing, ...others] = await Promise.all([
        runCli('src/cli/security-check.ts', { args: [], inheritEnv: true }),
        runCli('src/cli/security-check.ts', { args: ['ftp://example.com'], inheritEnv: true }),
        runCli('src/cli/security-check.ts', { args: [goodUrl, '--max-ms', 'soon'], inheritEnv: true }),
      ]);
      expect(missing!.code).toBe(2);
      expect(missing!.stderr).toContain('usage: npm run security:check');
      expect(others.map((run) => run.code)).toEqual([2, 2]);
    }, 60_000);
  });
});
