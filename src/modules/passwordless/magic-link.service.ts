import { UniqueConstraintError } from 'sequelize';
import type { Config } from '../../config/env.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { Actor } from '../../http/route.js';
import type { Background } from '../../infra/background.js';
import type { Mailer } from '../../infra/mailer.js';
import type { UserModel } from '../../models/user.model.js';
import type { AuthModule } from '../auth/index.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import type { UserAccounts } from '../users/index.js';
import type { Identities } from './identities.js';
import type { MagicLinkModel } from '../../models/magic-link.model.js';
import type { MagicLinks } from './magic-links.js';
import type { PasswordlessMail } from './passwordless-mail.js';
import type { RequestBudget } from './request-budget.js';

export interface MagicLinkDeps {
  config: Pick<Config, 'magicLinks' | 'oidc'>;
  links: MagicLinks;
  identities: Identities;
  accounts: UserAccounts;
  auth: Pick<AuthModule, 'signInProven' | 'renewAuthentication'>;
  perAddress: RequestBudget;
  perClient: RequestBudget;
  events: SecurityEventRecorder;
  mailer: Mailer;
  mail: PasswordlessMail;
  /** The answer is sent before the lookup and the mail, so it takes the same time for every address. */
  background: Background;
}

export interface MagicLinkInput {
  email: string;
  name?: string;
  transport: 'cookie' | 'body';
  rememberMe: boolean;
}

const invalidLink = () => AppError.badRequest('INVALID_OR_EXPIRED_TOKEN', 'This link is invalid, expired or already used.');

/**
 * Magic links (docs/DESIGN.md §5.9): a request answers the same whatever the address, and mails
 * a link only to an account (or, with MAGIC_LINK_SIGNUP, to an address that may become one);
 * following the link is a sign-in whose first factor is the mailbox, so the second factor and
 * the MFA policy apply as after a password.
 */
export function createMagicLinks(deps: MagicLinkDeps) {
  const { links, accounts, events } = deps;

  async function send(input: MagicLinkInput, meta: RequestMeta): Promise<void> {
    const user = await accounts.findByEmail(input.email);
    events.record({ type: 'magic_link_requested', userId: user?.id ?? null, ...meta, metadata: { known: user !== null } });
    if (!(await deps.perAddress.spend(input.email))) {
      events.record({ type: 'rate_limited', userId: user?.id ?? null, ...meta, metadata: { scope: 'magic_link_address' } });
      return;
    }
    if (user) {
      if (user.disabledAt) return;
      const token = await links.issue({ userId: user.id, email: user.email, transport: input.transport, rememberMe: input.rememberMe });
      deps.mailer.send(deps.mail.signIn(user, token));
    } else if (deps.config.magicLinks.signup) {
      const token = await links.issue({ userId: null, email: input.email, name: input.name, transport: input.transport, rememberMe: input.rememberMe });
      deps.mailer.send(deps.mail.createAccount({ email: input.email, name: input.name }, token));
    }
  }

  /** The account the link is for; a sign-up link makes it (verified, without a password). */
  async function accountOf(link: MagicLinkModel, meta: RequestMeta): Promise<UserModel> {
    if (link.userId) {
      const user = await accounts.findById(link.userId);
      if (!user || user.email !== link.email) throw invalidLink();
      if (user.emailVerifiedAt) return user;
      await accounts.markEmailVerified(user.id); // the link proved the address
      return user.reload();
    }
    if (!deps.config.magicLinks.signup) throw invalidLink(); // sign-up was turned off since the link was sent
    try {
      const user = await accounts.createWithoutPassword({ email: link.email, name: link.name ?? link.email.split('@')[0]!.slice(0, 100) });
      events.record({ type: 'account_created', userId: user.id, ...meta, metadata: { method: 'magic_link' } });
      return user;
    } catch (error) {
      if (!(error instanceof UniqueConstraintError)) throw error;
      const existing = await accounts.findByEmail(link.email); // registered meanwhile: the mailbox proves it too
      if (!existing) throw error;
      return existing;
    }
  }

  /** An identity whose address collided with this account, now proven: attached before signing in. */
  async function attachPending(link: MagicLinkModel, user: UserModel, meta: RequestMeta): Promise<void> {
    if (!link.linkIssuer || !link.linkSubject || !link.linkProvider) return;
    const identity = { provider: link.linkProvider, issuer: link.linkIssuer, subject: link.linkSubject, email: link.email };
    if (!(await deps.identities.link(user.id, identity))) return; // taken by another account meanwhile: sign in without it
    events.record({ type: 'identity_linked', userId: user.id, ...meta, metadata: { provider: identity.provider, proof: 'magic_link' } });
  }

  return {
    /** Throws 429 when this client has asked too often; otherwise works after the reply. */
    async request(input: MagicLinkInput, clientKey: string, meta: RequestMeta): Promise<void> {
      if (!(await deps.perClient.spend(clientKey))) {
        events.record({ type: 'rate_limited', ...meta, metadata: { scope: 'magic_link_client' } });
        throw AppError.rateLimited(Math.ceil(deps.perClient.windowMs / 1000));
      }
      deps.background.run(() => send(input, meta));
    },

    /** A pending identity travels in a link to the address it collided with (docs/SECURITY.md, account linking). */
    async sendLinkProof(user: UserModel, identity: { provider: string; providerName: string; issuer: string; subject: string }, login: Pick<MagicLinkInput, 'transport' | 'rememberMe'>) {
      if (!(await deps.perAddress.spend(user.email))) return;
      const token = await links.issue({ userId: user.id, email: user.email, ...login, link: identity });
      deps.mailer.send(deps.mail.linkIdentity(user, token, identity.providerName));
    },

    /** Step-up by magic link: a link to the signed-in person's own address renews this session's authentication. */
    async reauthenticate(actor: Actor, token: string, meta: RequestMeta) {
      const link = await links.consume(token);
      if (!link || link.userId !== actor.userId) throw invalidLink();
      events.record({ type: 'magic_link_used', userId: actor.userId, ...meta, metadata: { purpose: 'reauthenticate' } });
      return deps.auth.renewAuthentication(actor, meta);
    },

    async verify(token: string, meta: RequestMeta) {
      const link = await links.consume(token);
      if (!link) throw invalidLink();
      const user = await accountOf(link, meta);
      await attachPending(link, user, meta);
      events.record({ type: 'magic_link_used', userId: user.id, ...meta, metadata: { signup: link.userId === null } });
      return deps.auth.signInProven(user, { transport: link.transport, rememberMe: link.rememberMe, method: 'magic_link' }, meta);
    },
  };
}

export type MagicLinkService = ReturnType<typeof createMagicLinks>;
