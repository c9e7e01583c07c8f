import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import type { Config } from '../../config/env.js';
import type { AccessClaims } from '../../http/route.js';
import type { Role } from '../../models/user.model.js';
import { CLOCK_SKEW_S, type SigningKeyStore } from './signing-keys.js';

export const ACCESS_TOKEN_AUDIENCE = 'confidant-api';
/** RFC 9068: the header says what the JWT is, so no other JWT can pass for an access token. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
const VERIFIED_CACHE_LIMIT = 10_000;

export type { AccessClaims };

export class InvalidTokenError extends Error {
  constructor(readonly reason: string) {
    super(`invalid access token: ${reason}`);
    this.name = 'InvalidTokenError';
  }
}

/**
 * Signs and verifies access tokens (profile: docs/SECURITY.md §4). EdDSA verification costs as much as a
 * whole bare Express request, so a token verified once is remembered until it expires;
 * revocation is checked separately, per session, on every request.
 */
export class AccessTokens {
  private readonly verified = new Map<string, AccessClaims>();

  constructor(
    private readonly keys: SigningKeyStore,
    private readonly config: Pick<Config, 'publicUrl' | 'tokens'>,
  ) {}

  get ttlS(): number {
    return this.config.tokens.accessTtlS;
  }

  /** `enrolmentOnly` adds the `mfa_enrolment` claim: a session that may only enrol a second factor. */
  async sign(subject: { userId: string; sessionId: string; role: Role; enrolmentOnly?: boolean }): Promise<string> {
    const { kid, privateKey } = await this.keys.signingKey();
    return new jose.SignJWT({ sid: subject.sessionId, role: subject.role, ...(subject.enrolmentOnly && { mfa_enrolment: true }) })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: ACCESS_TOKEN_TYPE })
      .setSubject(subject.userId)
      .setIssuer(this.config.publicUrl)
      .setAudience(ACCESS_TOKEN_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlS}s`)
      .setJti(randomUUID())
      .sign(privateKey);
  }

  async verify(token: string): Promise<AccessClaims> {
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.expiresAt + CLOCK_SKEW_S > Date.now() / 1000) return cached;
      this.verified.delete(token);
      throw new InvalidTokenError('expired');
    }
    const claims = await this.verifySignature(token);
    if (this.verified.size >= VERIFIED_CACHE_LIMIT) {
      this.verified.delete(this.verified.keys().next().value as string);
    }
    this.verified.set(token, claims);
    return claims;
  }

  private async verifySignature(token: string): Promise<AccessClaims> {
    try {
      // The key comes from our own key set by `kid`; `jku`, `x5u` and embedded `jwk` headers are never followed.
      const { payload } = await jose.jwtVerify(token, async (header) => {
        const key = await this.keys.verificationKey(header.kid);
        if (!key) throw new InvalidTokenError('unknown key');
        return key;
      }, {
        algorithms: ['EdDSA'],
        typ: ACCESS_TOKEN_TYPE,
        issuer: this.config.publicUrl,
        audience: ACCESS_TOKEN_AUDIENCE,
        clockTolerance: CLOCK_SKEW_S,
        // jose adds the tolerance: older than TTL + skew, or issued more than the skew ahead, is refused.
        maxTokenAge: this.ttlS,
        requiredClaims: ['sub', 'sid', 'role', 'exp', 'iat', 'jti'],
      });
      if (typeof payload.sid !== 'string' || typeof payload.role !== 'string' || !payload.sub || !payload.exp || !payload.iat) {
        throw new InvalidTokenError('malformed claims');
      }
      // Issued for this API alone: one audience, never a list that merely includes it.
      if (typeof payload.aud !== 'string') throw new InvalidTokenError('audience list');
      // No token outlives a fresh one: a far-future exp is refused even while its session lives.
      if (payload.exp - payload.iat > this.ttlS) throw new InvalidTokenError('lifetime too long');
      return { userId: payload.sub, sessionId: payload.sid, role: payload.role as Role, expiresAt: payload.exp, enrolmentOnly: payload.mfa_enrolment === true };
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      if (error instanceof jose.errors.JOSEError) throw new InvalidTokenError(error.code);
      throw error; // the database behind the key store, for instance: not the caller's fault
    }
  }
}
