import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import request from 'supertest';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/** A small client written against the generated types, as an app team would write it. */
const CLIENT = `
import type { paths } from './api.js';

type Json<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends {
  responses: { [K in S]: { content: { 'application/json': infer Body } } };
}
  ? Body
  : never;

type Login = Json<'/api/auth/login', 'post', 200>;
type Session = Json<'/api/sessions/{id}', 'get', 200>;
type Entries = Json<'/api/sessions/{id}/entries', 'get', 200>;
type Summary = Json<'/api/dashboard/summary', 'get', 200>;

export function describeLogin(login: Login): string {
  // An account with a second factor answers a challenge instead of tokens.
  if ('mfaRequired' in login) return login.challenge + login.methods.join(',');
  const token: string = login.accessToken;
  const role: 'user' | 'counselor' | 'admin' = login.user.role;
  const expires: string = login.session.expiresAt;
  // @ts-expect-error a login answer never carries a password hash
  void login.user.passwordHash;
  return token + role + expires + ('refreshToken' in login ? login.refreshToken : login.csrfToken);
}

export function describeSession(session: Session): string {
  const status: 'active' | 'paused' | 'ended' = session.status;
  const seconds: number = session.durationSeconds;
  return status + seconds;
}

export function texts(page: Entries): (string | null)[] {
  return page.items.map((entry) => (entry.kind === 'emotion' ? entry.emotion : entry.text));
}

export function minutes(summary: Summary): number {
  return summary.activeMinutes;
}
`;

describe('TypeScript types generated from GET /api/openapi.json (openapi-typescript)', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await createTestApp();
    dir = mkdtempSync(join(tmpdir(), 'confidant-openapi-types-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  function typeErrors(files: Record<string, string>): string[] {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const program = ts.createProgram([join(dir, 'client.ts')], {
      strict: true,
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      skipLibCheck: true,
    });
    return ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
  }

  it('type-check a client that reads the login answer, a session, its entries and the dashboard', async () => {
    const document = (await request(t.app).get('/api/openapi.json').expect(200)).body as Parameters<typeof openapiTS>[0];
    const types = astToString(await openapiTS(document));

    expect(typeErrors({ 'api.d.ts': types, 'client.ts': CLIENT })).toEqual([]);
  });

  it('would catch a client reading a field the answer does not have', async () => {
    const document = (await request(t.app).get('/api/openapi.json').expect(200)).body as Parameters<typeof openapiTS>[0];
    const wrong = CLIENT.replace('const seconds: number = session.durationSeconds;', 'const seconds: number = session.durationMinutes;');

    const errors = typeErrors({ 'api.d.ts': astToString(await openapiTS(document)), 'client.ts': wrong });

    expect(errors).toEqual([expect.stringContaining("Property 'durationMinutes' does not exist")]);
  });
});
