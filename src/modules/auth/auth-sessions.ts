import { Op } from 'sequelize';
import type { Models } from '../../models/index.js';
import type { SessionGuard } from './session-guard.js';

export type RevocationReason = 'logout' | 'logout_all' | 'revoked_by_user' | 'token_reuse' | 'password_change' | 'password_reset' | 'user_disabled' | 'role_changed' | 'account_deleted' | 'breach_response' | 'mfa_reset';

/**
 * Ending login sessions, for every flow that does it: the rows are marked revoked and the
 * guard refuses their access tokens at once (and tells the other instances).
 */
export class AuthSessions {
  constructor(
    private readonly models: Pick<Models, 'AuthSession'>,
    private readonly guard: SessionGuard,
  ) {}

  async revoke(where: { id?: string | string[]; userId?: string; exceptId?: string }, reason: RevocationReason): Promise<string[]> {
    const filter = {
      revokedAt: null,
      ...(where.id !== undefined && { id: where.id }),
      ...(where.userId !== undefined && { userId: where.userId }),
      ...(where.exceptId !== undefined && { id: { [Op.ne]: where.exceptId } }),
    };
    const rows = await this.models.AuthSession.findAll({ where: filter, attributes: ['id'] });
    const ids = rows.map((row) => row.id);
    if (ids.length === 0) return [];
    await this.models.AuthSession.update({ revokedAt: new Date(), revokedReason: reason }, { where: { id: ids, revokedAt: null } });
    await this.guard.revoked(ids);
    return ids;
  }

  async listActive(userId: string) {
    return this.models.AuthSession.findAll({
      where: { userId, revokedAt: null, expiresAt: { [Op.gt]: new Date() } },
      order: [['lastUsedAt', 'DESC']],
    });
  }
}
