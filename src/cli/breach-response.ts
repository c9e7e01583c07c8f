/**
 * `npm run breach:respond`: the one command for a suspected compromise (docs/OPERATIONS.md).
 *
 *   1. adds a new EdDSA signing key and retires every other key at once, so no access token
 *      in circulation verifies any more (running instances reload keys within 60 s);
 *   2. revokes every login session (reason `breach_response`), so no refresh token works,
 *      and tells running instances over Redis, when configured, to refuse them at once;
 *   3. deletes every unused one-time token (verification and password-reset links);
 *   4. records a `suspicious_activity` security event and seals it into the audit chain.
 *
 * It cannot rotate AUTH_SECRET, which lives in the platform: it prints that step. The
 * private signing keys are sealed under AUTH_SECRET, so after AUTH_SECRET changes this
 * command runs again, with the new secret, to retire every key sealed under the old one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Op } from 'sequelize';
import { JobLocks, newHolderId } from '../infra/job-locks.js';
import { SharedState } from '../infra/shared-state.js';
import { RedisRevocationBus, SigningKeyStore, type RevocationReason } from '../modules/auth/index.js';
import { AuditChain } from '../modules/security-events/index.js';
import { runCli, type CliContext } from './cli-context.js';

const REASON: RevocationReason = 'breach_response';
const REDIS_CONNECT_MS = 3_000;
/** Session ids per revocation message, so one message stays small. */
const ANNOUNCE_BATCH = 1_000;

const print = (line = '') => process.stdout.write(`${line}\n`);

/** Tells every running instance (Redis pub/sub) to refuse these sessions now; false when Redis is away. */
async function announce({ config, logger }: CliContext, sessionIds: string[]): Promise<boolean> {
  const shared = new SharedState(config.redis.url!, config.redis.keyPrefix, logger);
  try {
    const deadline = Date.now() + REDIS_CONNECT_MS;
    while (!shared.ready && Date.now() < deadline) await sleep(50);
    if (!shared.ready) return false;
    const bus = new RedisRevocationBus(shared);
    for (let i = 0; i < sessionIds.length; i += ANNOUNCE_BATCH) await bus.publish(sessionIds.slice(i, i + ANNOUNCE_BATCH));
    return shared.ready;
  } finally {
    await shared.close();
  }
}

await runCli(async (context) => {
  const { config, sequelize, models, logger } = context;
  const keys = SigningKeyStore.fromConfig(models, config);
  const startedAt = new Date();
  const retiring = await models.SigningKey.count({ where: { [Op.or]: [{ retireAt: null }, { retireAt: { [Op.gt]: startedAt } }] } });
  const kid = await keys.rotate({ retireOthersNow: true });

  const revokedAt = new Date();
  const [sessionsRevoked] = await models.AuthSession.update({ revokedAt, revokedReason: REASON }, { where: { revokedAt: null } });
  const oneTimeLinksDeleted = await models.OneTimeToken.destroy({ where: { usedAt: null } });

  await models.SecurityEvent.create({
    type: 'suspicious_activity',
    userId: null,
    ip: null,
    userAgent: null,
    metadata: { action: 'breach_response', sessionsRevoked, signingKeysRetired: retiring, oneTimeLinksDeleted, newKid: kid },
  });
  const sealed = await new AuditChain(sequelize, models, new JobLocks(models, newHolderId()), logger).sealPending().catch(() => 0);

  let announced: boolean | undefined;
  if (config.redis.url) {
    const live = await models.AuthSession.findAll({ where: { revokedAt, revokedReason: REASON, expiresAt: { [Op.gt]: revokedAt } }, attributes: ['id'] });
    announced = await announce(context, live.map((session) => session.id));
  }

  print('breach response done:');
  print(`  signing keys:   ${retiring} retired at once; new current key ${kid}, sealed under the AUTH_SECRET this command ran with`);
  print(`  login sessions: ${sessionsRevoked} revoked (reason ${REASON}); no refresh token of them works any more`);
  print(`  one-time links: ${oneTimeLinksDeleted} unused verification or password-reset link(s) deleted`);
  print(`  security event: suspicious_activity recorded${sealed > 0 ? ' and sealed into the audit chain' : '; a running instance seals it shortly'}`);
  if (announced === true) print('  instances:      told over Redis to refuse the revoked sessions now');
  else if (announced === false) print('  instances:      Redis did not answer; they refuse the revoked sessions within 60 s (session recheck)');
  else print('  instances:      no REDIS_URL; each refuses the revoked sessions within 60 s (session recheck)');
  print('Access tokens signed by the retired keys stop verifying on every instance within 60 s (key reload).');
  print('Every user has to sign in again.');
  print();
  print('Remaining manual step if AUTH_SECRET may be known to an attacker (a leaked environment, a stolen');
  print('database dump together with the secret): the new key is sealed under the AUTH_SECRET this command ran with.');
  print('  2. Set a new AUTH_SECRET (at least 32 random bytes) in the platform and restart or redeploy every instance.');
  print('  3. Right after the restart, run `npm run breach:respond` again, with the new AUTH_SECRET: it retires the');
  print('     keys sealed under the old secret, which the instances would otherwise keep trusting.');
  print('If this run already is step 3, the rotation is complete. See docs/OPERATIONS.md, "Breach response".');
});
