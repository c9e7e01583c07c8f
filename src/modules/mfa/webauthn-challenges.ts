import { Op } from 'sequelize';
import { tableJob, type RetentionJob } from '../../infra/retention.js';
import type { Models } from '../../models/index.js';
import type { WebauthnCeremony } from '../../models/webauthn-challenge.model.js';

/** A ceremony's challenge lives this long: the browser's own timeout, and a little for the round trip. */
export const WEBAUTHN_TIMEOUT_MS = 2 * 60_000;
const CHALLENGE_TTL_MS = WEBAUTHN_TIMEOUT_MS + 30_000;

/**
 * Challenges of the passkey ceremonies, kept in the database so that any instance can
 * verify what another one issued. Each is for one ceremony (and, for a registration, one
 * user), short-lived, and deleted when it is verified: the delete that removes it is the
 * only way to use it, so it works once even under concurrent requests.
 */
export class WebauthnChallenges {
  /** Challenges past their time that no ceremony used. */
  readonly retentionJob: RetentionJob;

  constructor(private readonly models: Pick<Models, 'WebauthnChallenge'>) {
    this.retentionJob = tableJob('webauthnChallenges', models.WebauthnChallenge, (now) => ({ expiresAt: { [Op.lt]: now } }));
  }

  async remember(challenge: string, ceremony: WebauthnCeremony, userId: string | null): Promise<void> {
    await this.models.WebauthnChallenge.create({ challenge, ceremony, userId, expiresAt: new Date(Date.now() + CHALLENGE_TTL_MS) });
  }

  /** Uses the challenge up; whether it was live, of this ceremony and (for a registration) this user's. */
  async consume(challenge: string, ceremony: WebauthnCeremony, userId: string | null): Promise<boolean> {
    const removed = await this.models.WebauthnChallenge.destroy({ where: { challenge, ceremony, userId, expiresAt: { [Op.gt]: new Date() } } });
    return removed === 1;
  }
}
