import { createHash, randomBytes } from 'node:crypto';
import { literal, Op } from 'sequelize';
import type { Models } from '../../models/index.js';
import type { LoginChallengeModel } from '../../models/login-challenge.model.js';

export const LOGIN_CHALLENGE_TTL_MS = 5 * 60_000;
export const LOGIN_CHALLENGE_ATTEMPTS = 5;

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Sign-ins waiting for a second factor. The token is 256 random bits, stored as a hash;
 * it is good for 5 minutes, for one sign-in, and for five codes: each try is counted in one
 * conditional update before its code is checked, so parallel guesses cannot exceed five.
 */
export class LoginChallenges {
  constructor(private readonly models: Pick<Models, 'LoginChallenge'>) {}

  async issue(userId: string, login: { transport: 'cookie' | 'body'; rememberMe: boolean }): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    await this.models.LoginChallenge.create({
      userId,
      tokenHash: hashOf(token),
      transport: login.transport,
      rememberMe: login.rememberMe,
      createdAt: now,
      expiresAt: new Date(now.getTime() + LOGIN_CHALLENGE_TTL_MS),
    });
    return token;
  }

  /** The challenge, while it is unused, unexpired and has tries left. */
  find(token: string) {
    return this.models.LoginChallenge.findOne({ where: this.live({ tokenHash: hashOf(token) }) });
  }

  /** Counts one try; false when none is left (or the challenge has just been used). */
  async claimAttempt(challenge: LoginChallengeModel): Promise<boolean> {
    const [claimed] = await this.models.LoginChallenge.update({ attempts: literal('attempts + 1') as unknown as number }, { where: this.live({ id: challenge.id }) });
    return claimed === 1;
  }

  /** Uses the challenge up; exactly one caller wins. */
  async consume(challenge: LoginChallengeModel): Promise<boolean> {
    const [used] = await this.models.LoginChallenge.update({ usedAt: new Date() }, { where: { id: challenge.id, usedAt: null, expiresAt: { [Op.gt]: new Date() } } });
    return used === 1;
  }

  attemptsLeft(challenge: LoginChallengeModel): number {
    return Math.max(0, LOGIN_CHALLENGE_ATTEMPTS - challenge.attempts - 1);
  }

  private live(where: { tokenHash?: string; id?: string }) {
    return { ...where, usedAt: null, expiresAt: { [Op.gt]: new Date() }, attempts: { [Op.lt]: LOGIN_CHALLENGE_ATTEMPTS } };
  }
}
