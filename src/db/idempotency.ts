import { createHash } from 'node:crypto';
import { Op, UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import { AppError } from '../errors/app-error.js';
import { tableJob, type RetentionJob } from '../infra/retention.js';
import type { Models } from '../models/index.js';

const TTL_MS = 24 * 3_600_000;

export interface StoredResponse<T> {
  status: number;
  body: T;
}

interface IdempotentRequest {
  userId: string;
  scope: string;
  key: string | undefined;
  /** What the request asked for: a replay with a different request is refused. */
  fingerprint: unknown;
}

/**
 * `Idempotency-Key`: the same key from the same user within 24 h returns the first
 * result. The work and the key row commit in one transaction and the key is unique per
 * user, so of two concurrent duplicates exactly one commits; the other rolls back and
 * replays the winner's response.
 */
export async function idempotent<T>(
  sequelize: Sequelize,
  models: Pick<Models, 'IdempotencyKey'>,
  request: IdempotentRequest,
  work: (transaction: Transaction) => Promise<StoredResponse<T>>,
): Promise<StoredResponse<T> & { replayed: boolean }> {
  const { key } = request;
  if (key === undefined) return { ...(await sequelize.transaction(work)), replayed: false };

  const where = { userId: request.userId, scope: request.scope, key };
  const requestHash = createHash('sha256').update(JSON.stringify(request.fingerprint ?? null)).digest('hex');
  const replay = async () => {
    const stored = await models.IdempotencyKey.findOne({ where: { ...where, expiresAt: { [Op.gt]: new Date() } } });
    if (!stored) return undefined;
    if (stored.requestHash !== requestHash) {
      throw new AppError(422, 'IDEMPOTENCY_KEY_REUSED', 'Unprocessable request', {
        detail: 'This Idempotency-Key was used for a different request.',
      });
    }
    return { status: stored.responseStatus, body: stored.responseBody as T, replayed: true };
  };

  const earlier = await replay();
  if (earlier) return earlier;
  await models.IdempotencyKey.destroy({ where: { ...where, expiresAt: { [Op.lte]: new Date() } } });
  try {
    return await sequelize.transaction(async (transaction) => {
      const response = await work(transaction);
      await models.IdempotencyKey.create(
        { ...where, requestHash, responseStatus: response.status, responseBody: response.body, expiresAt: new Date(Date.now() + TTL_MS) },
        { transaction },
      );
      return { ...response, replayed: false };
    });
  } catch (error) {
    if (error instanceof UniqueConstraintError) {
      const winner = await replay();
      if (winner) return winner;
    }
    throw error;
  }
}

/** Keys past their 24 h: a retention job removes them (idempotent, like every job). */
export function idempotencyKeysJob(models: Pick<Models, 'IdempotencyKey'>): RetentionJob {
  return tableJob('idempotencyKeys', models.IdempotencyKey, (now) => ({ expiresAt: { [Op.lt]: now } }));
}
