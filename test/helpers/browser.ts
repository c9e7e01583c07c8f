import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/**
 * What the real-browser tests share: Debian's Chromium driven by playwright-core, small
 * HTTP servers on the loopback, and the reference SPA of examples/spa served under a
 * strict CSP (no inline script; fetch and WebSocket only to the API; images only from data: URLs, for
 * the QR code of the authenticator-app setup).
 */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
export const STEP_TIMEOUT_MS = 15_000;

const SPA_DIR = new URL('../../examples/spa/', import.meta.url);
const SPA_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
};

export function listen(handler: RequestListener, host = '127.0.0.1'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  });
}

export const portOf = (server: Server) => (server.address() as AddressInfo).port;

export async function closeServer(server: Server | undefined) {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** Serves the files of the SPA under a strict CSP. */
export function spaServer(apiOrigin: () => string): Promise<Server> {
  return listen((req: IncomingMessage, res: ServerResponse) => {
    const entry = SPA_FILES[new URL(req.url ?? '/', 'http://spa').pathname];
    if (req.method !== 'GET' || !entry) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    readFile(new URL(entry.file, SPA_DIR)).then(
      (body) =>
        res
          .writeHead(200, {
            'content-type': entry.type,
            'cache-control': 'no-store',
            'x-content-type-options': 'nosniff',
            'content-security-policy': `default-src 'none'; script-src 'self'; connect-src ${apiOrigin()} ${apiOrigin().replace(/^http/, 'ws')}; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
          })
          .end(body),
      () => res.writeHead(500).end(),
    );
  });
}

export const logOf = (page: Page) => page.locator('#log').textContent().then((text) => text ?? '');

/** The SPA's log lines, once they match `until`. */
export async function logLines(page: Page, until: RegExp): Promise<string[]> {
  await expect.poll(() => logOf(page), { timeout: STEP_TIMEOUT_MS, interval: 50 }).toMatch(until);
  return (await logOf(page)).trim().split('\n');
}
