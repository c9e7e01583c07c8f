import { Op, type Sequelize } from 'sequelize';
import { linkTokenHash, newLinkToken } from '../../crypto/link-tokens.js';
import { tableJob, type RetentionJob } from '../../infra/retention.js';
import type { MagicLinkModel } from '../../models/magic-link.model.js';
import type { Models } from '../../models/index.js';

export const MAGIC_LINK_TTL_MIN = 15;

/** An OpenID identity waiting for its owner to prove the address it collided with. */
export interface PendingIdentity {
  provider: string;
  issuer: string;
  subject: string;
}

export interface MagicLinkRequest {
  userId: string | null;
  email: string;
  name?: string;
  transport: 'cookie' | 'body';
  rememberMe: boolean;
  link?: PendingIdentity;
}

/**
 * The `magic_links` table: 256 random bits per link, only their SHA-256 stored, 15 minutes,
 * single use. A new link for an address voids the earlier unused ones, so only the newest works.
 */
export class MagicLinks {
  /** Links used or past their time. */
  readonly retentionJob: RetentionJob;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly models: Pick<Models, 'MagicLink'>,
  ) {
    this.retentionJob = tableJob('magicLinks', models.MagicLink, (now) => ({ [Op.or]: [{ expiresAt: { [Op.lt]: now } }, { usedAt: { [Op.ne]: null } }] }));
  }

  async issue(request: MagicLinkRequest): Promise<string> {
    const { token, hash } = newLinkToken();
    const now = new Date();
    await this.sequelize.transaction(async (transaction) => {
      await this.models.MagicLink.update({ usedAt: now }, { where: { email: request.email, usedAt: null }, transaction });
      await this.models.MagicLink.create(
        {
          userId: request.userId,
          email: request.email,
          name: request.name ?? null,
          tokenHash: hash,
          transport: request.transport,
          rememberMe: request.rememberMe,
          linkProvider: request.link?.provider ?? null,
          linkIssuer: request.link?.issuer ?? null,
          linkSubject: request.link?.subject ?? null,
          createdAt: now,
          expiresAt: new Date(now.getTime() + MAGIC_LINK_TTL_MIN * 60_000),
        },
        { transaction },
      );
    });
    return token;
  }

  /** Uses the link up: the row for exactly one caller, while it is unused and unexpired. */
  async consume(token: string): Promise<MagicLinkModel | undefined> {
    const now = new Date();
    const live = { usedAt: null, expiresAt: { [Op.gt]: now } };
    const row = await this.models.MagicLink.findOne({ where: { tokenHash: linkTokenHash(token), ...live } });
    if (!row) return undefined;
    const [used] = await this.models.MagicLink.update({ usedAt: now }, { where: { id: row.id, ...live } });
    return used === 1 ? row : undefined;
  }
}
