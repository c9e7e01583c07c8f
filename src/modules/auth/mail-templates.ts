import escapeHtml from 'escape-html';
import type { MailMessage } from '../../infra/mailer.js';

interface Recipient {
  email: string;
  name: string;
}

/** Plain text and HTML from the same parts; every user-supplied value is escaped in the HTML. */
function compose(to: Recipient, subject: string, paragraphs: string[], action?: { label: string; url: string }): MailMessage {
  const greeting = `Hello ${to.name},`;
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
 * Links point at the SPA (APP_URL, never the request's Host header) and carry the token
 * in the fragment, which browsers never send to any server or put in a Referer.
 */
export function mailTemplates(appUrl: string) {
  const link = (path: string, token: string) => `${appUrl}/${path}#token=${encodeURIComponent(token)}`;
  return {
    verifyEmail: (to: Recipient, token: string, ttlHours: number) =>
      compose(to, 'Confirm your email address', [`Please confirm your email address to finish creating your Confidant account. The link works once and expires in ${ttlHours} hours.`], {
        label: 'Confirm my email',
        url: link('verify-email', token),
      }),

    registrationAttempt: (to: Recipient) =>
      compose(to, 'Someone tried to register with your address', [
        'Someone tried to create a Confidant account with this email address, which already has an account.',
        'If it was you, sign in or reset your password. If not, you can ignore this message: nothing has changed.',
      ]),

    resetPassword: (to: Recipient, token: string, ttlMinutes: number) =>
      compose(to, 'Reset your password', [`A password reset was requested for your Confidant account. The link works once and expires in ${ttlMinutes} minutes. If you did not ask for it, ignore this message.`], {
        label: 'Choose a new password',
        url: link('reset-password', token),
      }),

    passwordChanged: (to: Recipient) =>
      compose(to, 'Your password was changed', [
        'The password of your Confidant account was just changed and your other sessions were signed out.',
        'If this was not you, reset your password now and contact support.',
      ]),
  };
}

export type MailTemplates = ReturnType<typeof mailTemplates>;
