import { UniqueConstraintError } from 'sequelize';
import type { Models } from '../../models/index.js';
import type { PendingIdentity } from './magic-links.js';

/** The `oidc_identities` table: who signs in as whom at which provider, keyed by (issuer, subject). */
export class Identities {
  constructor(private readonly models: Pick<Models, 'OidcIdentity'>) {}

  find(issuer: string, subject: string) {
    return this.models.OidcIdentity.findOne({ where: { issuer, subject } });
  }

  /** Attaches the identity to the account; false when it already belongs to another one. */
  async link(userId: string, identity: PendingIdentity & { email: string | null }): Promise<boolean> {
    const existing = await this.find(identity.issuer, identity.subject);
    if (existing) return existing.userId === userId;
    try {
      await this.models.OidcIdentity.create({ userId, ...identity, lastUsedAt: new Date() });
      return true;
    } catch (error) {
      if (!(error instanceof UniqueConstraintError)) throw error;
      return (await this.find(identity.issuer, identity.subject))?.userId === userId; // linked concurrently
    }
  }

  async used(id: string): Promise<void> {
    await this.models.OidcIdentity.update({ lastUsedAt: new Date() }, { where: { id } });
  }

  async listFor(userId: string) {
    const rows = await this.models.OidcIdentity.findAll({ where: { userId }, order: [['createdAt', 'ASC']] });
    return rows.map((row) => ({
      id: row.id,
      provider: row.provider,
      issuer: row.issuer,
      subject: row.subject,
      email: row.email,
      createdAt: row.createdAt.toISOString(),
      lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    }));
  }

  count(userId: string): Promise<number> {
    return this.models.OidcIdentity.count({ where: { userId } });
  }

  async remove(userId: string, id: string): Promise<{ provider: string } | undefined> {
    const row = await this.models.OidcIdentity.findOne({ where: { id, userId } });
    if (!row) return undefined;
    await row.destroy();
    return { provider: row.provider };
  }
}
