import request from 'supertest';
import { expect } from 'vitest';
import type { TestApp } from './app.js';
import type { ReceivedMail, TestSmtpServer } from './smtp.js';

/** Everything a request started after its answer: the magic-link work, its mail, the security events. */
export async function settle(t: TestApp): Promise<void> {
  await t.modules.passwordless.idle();
  await t.context.mailer.idle();
  await t.context.events.flush();
}

/** The token of the magic link in a message (text and HTML carry the same link). */
export function magicTokenIn(mail: ReceivedMail, appUrl: string): string {
  const link = new RegExp(`${appUrl.replace(/[.]/g, '\\.')}/magic-link#token=([A-Za-z0-9_-]{43})`);
  const match = link.exec(mail.text);
  expect(match, `no magic link in: ${mail.text}`).not.toBeNull();
  expect(mail.html).toContain(`href="${match![0]}"`);
  return match![1]!;
}

/** Requests a link over HTTP and returns the token of the newest message to the address. */
export async function requestMagicLink(t: TestApp, smtp: TestSmtpServer, appUrl: string, email: string, extra: Record<string, unknown> = {}): Promise<string> {
  await request(t.app).post('/api/auth/magic-link').send({ email, ...extra }).expect(202);
  await settle(t);
  const mails = smtp.to(email);
  expect(mails.length, `no mail to ${email}`).toBeGreaterThan(0);
  return magicTokenIn(mails.at(-1)!, appUrl);
}
