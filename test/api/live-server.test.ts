import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LiveClient } from '../helpers/live.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { TEST_PASSWORD } from '../helpers/users.js';

/** src/server.ts itself: the channel on the API's port, in its access log, and closed by SIGTERM with 1001. */
describe('the live channel in the server process', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'confidant-live-'));
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves /api/live on the API port and closes its sockets with 1001 on SIGTERM, exiting 0', async () => {
    server = await startServerProcess({ NODE_ENV: 'development', DATA_DIR: dataDir });
    const base = `http://127.0.0.1:${server.port}`;
    for (let i = 0; i < 200 && (await fetch(`${base}/health/ready`)).status !== 200; i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    const email = `live-${Date.now()}@example.com`;
    const json = { 'Content-Type': 'application/json' };
    await fetch(`${base}/api/auth/register`, { method: 'POST', headers: json, body: JSON.stringify({ email, password: TEST_PASSWORD, name: 'Live Person' }) });
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ email, password: TEST_PASSWORD, transport: 'body' }) });
    expect(login.status).toBe(200);
    const { accessToken } = (await login.json()) as { accessToken: string };

    const client = await LiveClient.signedIn(`ws://127.0.0.1:${server.port}/api/live`, accessToken, { 'X-Request-Id': 'live-upgrade-1' });
    const exited = server.stop('SIGTERM');

    expect(await client.closedWithin(10_000)).toEqual({ code: 1001, reason: 'SHUTTING_DOWN' });
    expect(client.frames.at(-1)).toMatchObject({ type: 'reconnect' });
    expect(await exited).toBe(0);
    const lines = server.output().split('\n').filter((line) => line.includes('live-upgrade-1'));
    expect(lines.some((line) => /"status":101/.test(line) && /"upgrade":"websocket"/.test(line))).toBe(true);
    expect(lines.some((line) => /live connection closed/.test(line) && /"code":1001/.test(line))).toBe(true);
    expect(server.output()).not.toContain(accessToken);
  }, 60_000);
});
