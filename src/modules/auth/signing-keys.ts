import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { Op } from 'sequelize';
import { deriveKey, open, seal } from '../../crypto/secret-box.js';
import type { Config } from '../../config/env.js';
import type { Models } from '../../models/index.js';
import type { SigningKeyModel } from '../../models/signing-key.model.js';

export interface PublishedKey {
  kid: string;
  jwk: jose.JWK;
  key: jose.CryptoKey;
  activatesAt: Date;
  retireAt: Date | null;
}

interface SigningKey {
  kid: string;
  privateKey: jose.CryptoKey;
  activatesAt: Date;
}

/** Where a published key stands: about to sign, signing, or only verifying until it retires. */
export type KeyStage = 'next' | 'current' | 'retiring';

export interface KeyStatus {
  kid: string;
  stage: KeyStage;
  activatesAt: Date;
  retireAt: Date | null;
}

/** Clock skew allowed when verifying tokens; a retired key stays published this much longer. */
export const CLOCK_SKEW_S = 30;
/** How long verifiers may cache `/.well-known/jwks.json` (its Cache-Control max-age). */
export const JWKS_MAX_AGE_S = 300;
const RELOAD_INTERVAL_MS = 60_000;
/** An unknown `kid` may mean another instance rotated; look again, but not more often than this. */
const UNKNOWN_KID_RELOAD_MS = 5_000;
/**
 * A rotated-in key signs only once every instance publishes it (one reload interval) and
 * every JWKS cache filled before that has expired (max-age), allowing for clock skew: no
 * verifier ever meets a `kid` it has not seen.
 */
export const ACTIVATION_DELAY_MS = RELOAD_INTERVAL_MS + (JWKS_MAX_AGE_S + CLOCK_SKEW_S) * 1000;

/** Rows written by a release before staged rotation have no activation time: they signed from creation. */
const activationOf = (row: SigningKeyModel): Date => row.activatesAt ?? row.createdAt;

/**
 * The EdDSA signing keys, kept in the `jwks` table with the private half sealed under a
 * key derived from AUTH_SECRET. Rotation is staged: a new key is published first (next),
 * signs once its `activates_at` has passed (current; every instance switches by itself at
 * that moment), and the key it replaces verifies until `retire_at` (retiring), when every
 * token it signed has expired. Every key not yet past `retire_at` is published. Loaded
 * lazily and reloaded now and then so a rotation on one instance reaches the others.
 */
export class SigningKeyStore {
  private loaded?: Promise<void>;
  private loadedAt = 0;
  /** The reload in progress, which every concurrent caller awaits, and when it started. */
  private reloading?: Promise<void>;
  private reloadStartedAt = 0;
  /** The current key and any next ones that open under AUTH_SECRET, newest activation first. */
  private signers: SigningKey[] = [];
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

  /** The newest key whose activation time has passed, decided at every signature. */
  async signingKey(): Promise<SigningKey> {
    await this.ensureLoaded();
    const now = Date.now();
    const current = this.signers.find((key) => key.activatesAt.getTime() <= now);
    if (!current) throw new Error('no signing key');
    return current;
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

  /** Every published key and its stage, oldest activation first (for `npm run keys:rotate`). */
  async stages(): Promise<KeyStatus[]> {
    const { kid: currentKid } = await this.signingKey();
    const now = Date.now();
    return [...this.published.values()]
      .sort((a, b) => a.activatesAt.getTime() - b.activatesAt.getTime())
      .map(({ kid, activatesAt, retireAt }) => ({
        kid,
        activatesAt,
        retireAt,
        stage: kid === currentKid ? 'current' : activatesAt.getTime() > now ? 'next' : 'retiring',
      }));
  }

  /**
   * Staged rotation: publishes a new key now, which signs from ACTIVATION_DELAY_MS on; the
   * keys before it retire once every token they sign until then has expired. With
   * `retireOthersNow` (breach response) the new key signs at once and every other key
   * retires at once, so no token they signed verifies any more; the new key is written
   * first, so a key always exists.
   */
  async rotate(options: { retireOthersNow?: boolean } = {}): Promise<string> {
    let kid: string;
    if (options.retireOthersNow) {
      kid = await this.addKey({ activateInMs: 0, retireOthersInMs: 0 });
    } else {
      await this.ensureLoaded(); // a current key exists (on a new database, too) to sign until the new one activates
      kid = await this.addKey({ activateInMs: ACTIVATION_DELAY_MS, retireOthersInMs: ACTIVATION_DELAY_MS + this.retireAfterMs });
    }
    await this.reload();
    return kid;
  }

  /** A new key, and every other key not retiring sooner set to retire after `retireOthersInMs`. */
  private async addKey(timing: { activateInMs: number; retireOthersInMs: number }): Promise<string> {
    const now = Date.now();
    const kid = await this.generate(new Date(now + timing.activateInMs));
    const retireAt = new Date(now + timing.retireOthersInMs);
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
   * Keeps the keys that may sign: the newest activated one whose private half opens under
   * the current AUTH_SECRET, and those activating after it. On a new database there is
   * none, and after AUTH_SECRET changed none opens: a new key is made that signs at once,
   * and the others retire as in a rotation, so signing goes on.
   */
  private async reload(): Promise<void> {
    let rows = await this.activeRows();
    let signers = await this.openSigners(rows);
    if (signers.length === 0) {
      await this.addKey({ activateInMs: 0, retireOthersInMs: this.retireAfterMs });
      rows = await this.activeRows();
      signers = await this.openSigners(rows);
      if (signers.length === 0) throw new Error('the signing key just made cannot be opened');
    }
    const published = new Map<string, PublishedKey>();
    for (const row of rows) {
      const jwk = JSON.parse(row.publicJwk) as jose.JWK;
      const key = (await jose.importJWK(jwk, 'EdDSA')) as jose.CryptoKey;
      published.set(row.kid, { kid: row.kid, jwk, key, activatesAt: activationOf(row), retireAt: row.retireAt });
    }
    this.signers = signers;
    this.published = published;
    this.loadedAt = Date.now();
  }

  /** Newest activation first, down to the first key already active; empty when none of those opens. */
  private async openSigners(rows: SigningKeyModel[]): Promise<SigningKey[]> {
    const now = Date.now();
    const signers: SigningKey[] = [];
    for (const row of [...rows].sort((a, b) => activationOf(b).getTime() - activationOf(a).getTime())) {
      const privateKey = await this.openPrivateKey(row);
      if (!privateKey) continue; // sealed under another AUTH_SECRET
      signers.push({ kid: row.kid, privateKey, activatesAt: activationOf(row) });
      if (activationOf(row).getTime() <= now) return signers;
    }
    return [];
  }

  private async openPrivateKey(row: SigningKeyModel): Promise<jose.CryptoKey | undefined> {
    try {
      return (await jose.importPKCS8(open(this.sealKey, row.privateKeyEnc, row.kid), 'EdDSA')) as jose.CryptoKey;
    } catch {
      return undefined;
    }
  }

  private activeRows() {
    return this.models.SigningKey.findAll({
      where: { [Op.or]: [{ retireAt: null }, { retireAt: { [Op.gt]: new Date() } }] },
      order: [['createdAt', 'ASC']],
    });
  }

  private async generate(activatesAt: Date): Promise<string> {
    const { publicKey, privateKey } = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = randomUUID();
    const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
    const pem = await jose.exportPKCS8(privateKey);
    await this.models.SigningKey.create({ kid, publicJwk: JSON.stringify(jwk), privateKeyEnc: seal(this.sealKey, pem, kid), activatesAt });
    return kid;
  }
}
