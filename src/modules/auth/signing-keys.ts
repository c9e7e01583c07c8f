import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { Op } from 'sequelize';
import { deriveKey, open, seal } from '../../lib/secret-box.js';
import type { Config } from '../../config/env.js';
import type { Models } from '../../models/index.js';
import type { SigningKeyModel } from '../../models/signing-key.model.js';

export interface PublishedKey {
  kid: string;
  jwk: jose.JWK;
  key: jose.CryptoKey;
}

interface SigningKey {
  kid: string;
  privateKey: jose.CryptoKey;
}

/** Clock skew allowed when verifying tokens; a retired key stays published this much longer. */
export const CLOCK_SKEW_S = 30;
const RELOAD_INTERVAL_MS = 60_000;
/** An unknown `kid` may mean another instance rotated; look again, but not more often than this. */
const UNKNOWN_KID_RELOAD_MS = 5_000;

/**
 * The EdDSA signing keys, kept in the `jwks` table with the private half sealed under a
 * key derived from AUTH_SECRET. The newest key signs; every key not yet past `retire_at`
 * verifies and is published. Loaded lazily and reloaded now and then so a rotation on
 * one instance reaches the others.
 */
export class SigningKeyStore {
  private loaded?: Promise<void>;
  private loadedAt = 0;
  /** The reload in progress, which every concurrent caller awaits, and when it started. */
  private reloading?: Promise<void>;
  private reloadStartedAt = 0;
  private signing?: SigningKey;
  private published = new Map<string, PublishedKey>();
  private readonly sealKey: Buffer;

  constructor(
    private readonly models: Pick<Models, 'SigningKey'>,
    authSecret: string,
    private readonly retireAfterMs: number,
  ) {
    this.sealKey = deriveKey(authSecret, 'jwks-private-keys');
  }

  /** Old keys stay published until every token they signed has expired (TTL plus skew). */
  static fromConfig(models: Pick<Models, 'SigningKey'>, config: Pick<Config, 'secrets' | 'tokens'>): SigningKeyStore {
    return new SigningKeyStore(models, config.secrets.authSecret, (config.tokens.accessTtlS + CLOCK_SKEW_S) * 1000);
  }

  async signingKey(): Promise<SigningKey> {
    await this.ensureLoaded();
    if (!this.signing) throw new Error('no signing key');
    return this.signing;
  }

  /** The verification key for `kid`, from the local key set only. */
  async verificationKey(kid: string | undefined): Promise<jose.CryptoKey | undefined> {
    await this.ensureLoaded();
    if (kid === undefined) return undefined;
    const known = this.published.get(kid);
    if (known) return known.key;
    if (!this.reloading && Date.now() - this.reloadStartedAt < UNKNOWN_KID_RELOAD_MS) return undefined;
    await this.reloadOnce();
    return this.published.get(kid)?.key;
  }

  async jwks(): Promise<{ keys: jose.JWK[] }> {
    await this.ensureLoaded();
    return { keys: [...this.published.values()].map(({ jwk }) => jwk) };
  }

  /**
   * Adds a new current key; older keys retire once every token they signed has expired.
   * With `retireOthersNow` (breach response) every other key retires at once, so no token
   * they signed verifies any more; the new key is written first, so a key always exists.
   */
  async rotate(options: { retireOthersNow?: boolean } = {}): Promise<string> {
    const kid = await this.addKey(options.retireOthersNow ? 0 : this.retireAfterMs);
    await this.reload();
    return kid;
  }

  /** A new key, and every other active key set to retire after `retireInMs`. */
  private async addKey(retireInMs: number): Promise<string> {
    const kid = await this.generate();
    const retireAt = new Date(Date.now() + retireInMs);
    const later = { [Op.or]: [{ retireAt: null }, { retireAt: { [Op.gt]: retireAt } }] };
    await this.models.SigningKey.update({ retireAt }, { where: { kid: { [Op.ne]: kid }, ...later } });
    return kid;
  }

  private ensureLoaded(): Promise<void> {
    if (!this.loaded || Date.now() - this.loadedAt > RELOAD_INTERVAL_MS) {
      const attempt = this.reloadOnce();
      this.loaded = attempt.catch((error: unknown) => {
        this.loaded = undefined; // a failed load (database down) is retried by the next caller
        throw error;
      });
    }
    return this.loaded;
  }

  /**
   * Single flight: a burst of lookups shares one reload. The start is stamped, so even a
   * reload that fails (database away) is not retried by every request behind it.
   */
  private reloadOnce(): Promise<void> {
    if (!this.reloading) {
      this.reloadStartedAt = Date.now();
      this.reloading = this.reload().finally(() => {
        this.reloading = undefined;
      });
    }
    return this.reloading;
  }

  /**
   * Signs with the newest key whose private half opens under the current AUTH_SECRET. On a
   * new database there is none, and after AUTH_SECRET changed none opens: a new key is
   * made and the others retire as in a rotation, so signing goes on.
   */
  private async reload(): Promise<void> {
    let rows = await this.activeRows();
    let signing = await this.newestOpenable(rows);
    if (!signing) {
      await this.addKey(this.retireAfterMs);
      rows = await this.activeRows();
      signing = await this.newestOpenable(rows);
      if (!signing) throw new Error('the signing key just made cannot be opened');
    }
    const published = new Map<string, PublishedKey>();
    for (const row of rows) {
      const jwk = JSON.parse(row.publicJwk) as jose.JWK;
      published.set(row.kid, { kid: row.kid, jwk, key: (await jose.importJWK(jwk, 'EdDSA')) as jose.CryptoKey });
    }
    this.signing = signing;
    this.published = published;
    this.loadedAt = Date.now();
  }

  private async newestOpenable(rows: SigningKeyModel[]): Promise<SigningKey | undefined> {
    for (const row of [...rows].reverse()) {
      try {
        const pem = open(this.sealKey, row.privateKeyEnc, row.kid);
        return { kid: row.kid, privateKey: (await jose.importPKCS8(pem, 'EdDSA')) as jose.CryptoKey };
      } catch {
        // sealed under another AUTH_SECRET
      }
    }
    return undefined;
  }

  private activeRows() {
    return this.models.SigningKey.findAll({
      where: { [Op.or]: [{ retireAt: null }, { retireAt: { [Op.gt]: new Date() } }] },
      order: [['createdAt', 'ASC']],
    });
  }

  private async generate(): Promise<string> {
    const { publicKey, privateKey } = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = randomUUID();
    const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
    const pem = await jose.exportPKCS8(privateKey);
    await this.models.SigningKey.create({ kid, publicJwk: JSON.stringify(jwk), privateKeyEnc: seal(this.sealKey, pem, kid) });
    return kid;
  }
}
