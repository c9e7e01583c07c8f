import { composeMail as compose, linkWithToken, type Recipient } from '../../infra/mail-message.js';
import { MAGIC_LINK_TTL_MIN } from './magic-links.js';

/** The mails of signing in without a password; links carry their token in the fragment. */
export function passwordlessMail(appUrl: string) {
  const url = (token: string) => linkWithToken(appUrl, 'magic-link', token);
  const lifetime = `The link works once and expires in ${MAGIC_LINK_TTL_MIN} minutes. If you did not ask for it, ignore this message: nothing happens without the link.`;
  return {
    signIn: (to: Recipient, token: string) =>
      compose(to, 'Your sign-in link', [`Someone asked to sign in to your Confidant account with this address. ${lifetime}`], { label: 'Sign in to Confidant', url: url(token) }),

    createAccount: (to: Recipient, token: string) =>
      compose(to, 'Create your Confidant account', [`Someone asked to sign in to Confidant with this address, which has no account yet. Following the link creates one, without a password. ${lifetime}`], {
        label: 'Create my account',
        url: url(token),
      }),

    linkIdentity: (to: Recipient, token: string, provider: string) =>
      compose(to, `Link your ${provider} sign-in`, [`Someone signed in with ${provider} using this address, which already has a Confidant account. Following the link signs you in and lets ${provider} sign you in from now on. ${lifetime}`], {
        label: `Link ${provider} and sign in`,
        url: url(token),
      }),

    passwordAdded: (to: Recipient) =>
      compose(to, 'A password was added to your account', [
        'Your Confidant account, which had no password, now has one: you can sign in with it as well as before.',
        'If this was not you, reset your password now and contact support.',
      ]),
  };
}

export type PasswordlessMail = ReturnType<typeof passwordlessMail>;
