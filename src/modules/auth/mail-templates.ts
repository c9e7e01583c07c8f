import { composeMail as compose, linkWithToken, type Recipient } from '../../infra/mail-message.js';

/** The mails of the account flows; links carry their token in the fragment (linkWithToken). */
export function mailTemplates(appUrl: string) {
  const link = (path: string, token: string) => linkWithToken(appUrl, path, token);
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
