import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticatorTransport,
} from '@simplewebauthn/server';
import { COSEALG, decodeClientDataJSON } from '@simplewebauthn/server/helpers';
import { UniqueConstraintError, type Sequelize } from 'sequelize';
import type { Config } from '../../config/env.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { Models } from '../../models/index.js';
import type { PasskeyModel } from '../../models/passkey.model.js';
import type { WebauthnCeremony } from '../../models/webauthn-challenge.model.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import type { UserAccounts } from '../users/index.js';
import type { FactorRules } from './factor-rules.js';
import type { z } from 'zod';
import type { authenticationOptionsResponse, AuthenticationResponse, registrationOptionsResponse, RegistrationResponse } from './passkeys.schemas.js';
import { WEBAUTHN_TIMEOUT_MS, type WebauthnChallenges } from './webauthn-challenges.js';

export interface PasskeysDeps {
  config: Pick<Config, 'webauthn'>;
  sequelize: Sequelize;
  models: Pick<Models, 'Passkey'>;
  accounts: Pick<UserAccounts, 'findById'>;
  challenges: WebauthnChallenges;
  rules: FactorRules;
  events: SecurityEventRecorder;
}

/**
 * The signature algorithms a passkey may use, named here rather than left to the library,
 * whose default adds ML-DSA-44 on runtimes that can verify it (Node 24, not Node 20). Every
 * instance must be able to verify every stored passkey, whatever Node it runs on, and the
 * request schema bounds signatures at what these algorithms produce.
 */
const SUPPORTED_ALGORITHMS = [COSEALG.EdDSA, COSEALG.ES256, COSEALG.RS256];

/** The WebAuthn user handle: the account id's 16 bytes, the same for every passkey of the person, no personal data. */
const userHandleOf = (userId: string) => Buffer.from(userId.replace(/-/g, ''), 'hex');

export function passkeyView(passkey: PasskeyModel) {
  return {
    id: passkey.id,
    name: passkey.name,
    deviceType: passkey.deviceType,
    backedUp: passkey.backedUp,
    transports: passkey.transports,
    createdAt: passkey.createdAt.toISOString(),
    lastUsedAt: passkey.lastUsedAt?.toISOString() ?? null,
  };
}

const invalidPasskey = () => AppError.badRequest('INVALID_PASSKEY', 'The passkey response could not be verified; start again with new options.');

/**
 * Passkeys (@simplewebauthn/server): registration and sign-in ceremonies against the
 * relying party of the configuration (WEBAUTHN_RP_ID, origins from CORS_ORIGINS), user
 * verification required, discoverable credentials (the passkey names its account, so sign-in
 * needs no email and reveals nothing about which accounts have passkeys), challenges used
 * once, and the signature counter checked and advanced.
 */
export function createPasskeys(deps: PasskeysDeps) {
  const { config, models, challenges, events } = deps;
  const { rpId, rpName, origins } = config.webauthn;

  /** The challenge the browser signed, used up; false when it is not a live one of this ceremony. */
  async function consumeChallengeOf(clientDataJSON: string, ceremony: WebauthnCeremony, userId: string | null): Promise<string | undefined> {
    let challenge: string;
    try {
      challenge = decodeClientDataJSON(clientDataJSON).challenge;
    } catch {
      return undefined;
    }
    if (typeof challenge !== 'string' || challenge.length > 128) return undefined;
    return (await challenges.consume(challenge, ceremony, userId)) ? challenge : undefined;
  }

  return {
    async registrationOptions(userId: string) {
      const user = await deps.accounts.findById(userId);
      if (!user) throw AppError.notFound('user');
      const existing = await models.Passkey.findAll({ where: { userId }, attributes: ['credentialId', 'transports'] });
      const options = await generateRegistrationOptions({
        rpName,
        rpID: rpId,
        userName: user.email,
        userDisplayName: user.name,
        userID: userHandleOf(user.id),
        timeout: WEBAUTHN_TIMEOUT_MS,
        attestationType: 'none',
        excludeCredentials: existing.map((passkey) => ({ id: passkey.credentialId, transports: passkey.transports as AuthenticatorTransport[] })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
      });
      await challenges.remember(options.challenge, 'register', userId);
      // The library's type is the WebAuthn one, with optional fields it always fills; the route checks the shape.
      return options as z.input<typeof registrationOptionsResponse>;
    },

    async register(userId: string, input: { name?: string; response: RegistrationResponse }, meta: RequestMeta) {
      const challenge = await consumeChallengeOf(input.response.response.clientDataJSON, 'register', userId);
      if (!challenge) throw invalidPasskey();
      let verified;
      try {
        verified = await verifyRegistrationResponse({ response: input.response, expectedChallenge: challenge, expectedOrigin: origins, expectedRPID: rpId, requireUserVerification: true, supportedAlgorithmIDs: SUPPORTED_ALGORITHMS });
      } catch {
        throw invalidPasskey();
      }
      if (!verified.verified) throw invalidPasskey();
      const { credential, credentialDeviceType, credentialBackedUp } = verified.registrationInfo;
      try {
        const passkey = await models.Passkey.create({
          userId,
          credentialId: credential.id,
          publicKey: Buffer.from(credential.publicKey).toString('base64url'),
          counter: credential.counter,
          transports: credential.transports ?? [],
          deviceType: credentialDeviceType,
          backedUp: credentialBackedUp,
          name: input.name ?? `Passkey added ${new Date().toISOString().slice(0, 10)}`,
        });
        events.record({ type: 'passkey_added', userId, ...meta, metadata: { id: passkey.id, name: passkey.name } });
        return passkeyView(passkey);
      } catch (error) {
        if (error instanceof UniqueConstraintError) throw AppError.conflict('PASSKEY_EXISTS', 'This passkey is already registered.');
        throw error;
      }
    },

    async list(userId: string) {
      const rows = await models.Passkey.findAll({ where: { userId }, order: [['createdAt', 'ASC']] });
      return rows.map(passkeyView);
    },

    async rename(userId: string, id: string, name: string) {
      const passkey = await models.Passkey.findOne({ where: { id, userId } });
      if (!passkey) throw AppError.notFound('passkey');
      await passkey.update({ name });
      return passkeyView(passkey);
    },

    async remove(userId: string, id: string, meta: RequestMeta): Promise<void> {
      const passkey = await models.Passkey.findOne({ where: { id, userId } });
      if (!passkey) throw AppError.notFound('passkey');
      await deps.rules.assertRemovable(userId);
      await deps.rules.assertNotLastWayIn(userId);
      await deps.sequelize.transaction(async (transaction) => {
        await passkey.destroy({ transaction });
        await deps.rules.afterRemoval(userId, transaction);
      });
      events.record({ type: 'passkey_removed', userId, ...meta, metadata: { id: passkey.id, name: passkey.name } });
    },

    /** Options for a sign-in (or a reauthentication) with any passkey of this relying party. */
    async authenticationOptions() {
      const options = await generateAuthenticationOptions({ rpID: rpId, userVerification: 'required', timeout: WEBAUTHN_TIMEOUT_MS });
      await challenges.remember(options.challenge, 'authenticate', null);
      return options as z.input<typeof authenticationOptionsResponse>;
    },

    /**
     * The owner of the passkey that signed a live challenge, or undefined. With `userId`, only
     * that person's passkeys count (reauthentication). A counter that did not advance means a
     * cloned authenticator or a replay: refused, and recorded as suspicious.
     */
    async verifyAssertion(response: AuthenticationResponse, meta: RequestMeta, options: { userId?: string } = {}) {
      const challenge = await consumeChallengeOf(response.response.clientDataJSON, 'authenticate', null);
      if (!challenge) return undefined;
      const passkey = await models.Passkey.findOne({ where: { credentialId: response.id } });
      if (!passkey || (options.userId !== undefined && passkey.userId !== options.userId)) return undefined;
      const handle = response.response.userHandle;
      if (handle !== undefined && handle !== userHandleOf(passkey.userId).toString('base64url')) return undefined;
      const counter = Number(passkey.counter);
      let verified;
      try {
        verified = await verifyAuthenticationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: origins,
          expectedRPID: rpId,
          credential: { id: passkey.credentialId, publicKey: Buffer.from(passkey.publicKey, 'base64url'), counter, transports: passkey.transports as AuthenticatorTransport[] },
          requireUserVerification: true,
        });
      } catch (error) {
        if (error instanceof Error && /counter/i.test(error.message)) {
          events.record({ type: 'suspicious_activity', userId: passkey.userId, ...meta, metadata: { reason: 'passkey_counter_not_advanced', id: passkey.id } });
        }
        return undefined;
      }
      if (!verified.verified) return undefined;
      // Only the request that saw the stored counter advances it: a replay racing this one fails here.
      const [updated] = await models.Passkey.update(
        { counter: verified.authenticationInfo.newCounter, lastUsedAt: new Date() },
        { where: { id: passkey.id, counter: passkey.counter } },
      );
      return updated === 1 ? { userId: passkey.userId, passkeyId: passkey.id } : undefined;
    },
  };
}

export type Passkeys = ReturnType<typeof createPasskeys>;
