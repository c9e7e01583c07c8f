import escapeHtml from 'escape-html';
import type { MailMessage } from './mailer.js';

export interface Recipient {
  email: string;
  /** Absent for an address that may have no account yet. */
  name?: string;
}

/** Plain text and HTML from the same parts; every user-supplied value is escaped in the HTML. */
export function composeMail(to: Recipient, subject: string, paragraphs: string[], action?: { label: string; url: string }): MailMessage {
  const greeting = to.name ? `Hello ${to.name},` : 'Hello,';
  const text = [greeting, ...paragraphs, ...(action ? [`${action.label}: ${action.url}`] : []), '— Confidant'].join('\n\n');
  const html = [
    `<p>${escapeHtml(greeting)}</p>`,
    ...paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`),
    ...(action ? [`<p><a href="${escapeHtml(action.url)}">${escapeHtml(action.label)}</a></p>`] : []),
    '<p>— Confidant</p>',
  ].join('\n');
  return { to: to.email, subject, text, html };
}

/**
 * A link to the SPA (APP_URL, never the request's Host header) with the token in the
 * fragment, which browsers never send to any server or put in a Referer.
 */
export function linkWithToken(appUrl: string, path: string, token: string): string {
  return `${appUrl}/${path}#token=${encodeURIComponent(token)}`;
}
