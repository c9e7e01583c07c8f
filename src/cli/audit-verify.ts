/**
 * `npm run audit:verify`: seals what is pending, walks the security-event hash chain from
 * its latest checkpoint, prints how many events verified and the first broken link, and
 * exits non-zero when the chain is broken.
 */
import { JobLocks, newHolderId } from '../infra/job-locks.js';
import { AuditChain } from '../modules/security-events/index.js';
import { runCli } from './cli-context.js';

await runCli(async ({ sequelize, models, logger }) => {
  const chain = new AuditChain(sequelize, models, new JobLocks(models, newHolderId()), logger);
  await chain.sealPending();
  const result = await chain.verify();
  const from = result.checkpoint ? `checkpoint at seq ${result.checkpoint.throughSeq}` : 'genesis';
  process.stdout.write(`audit chain: ${result.verified} events verified from ${from}${result.unsealed ? `, ${result.unsealed} not yet sealed` : ''}\n`);
  if (result.firstBroken) {
    const { seq, id, reason } = result.firstBroken;
    process.stdout.write(`BROKEN at seq ${seq ?? '?'} (event ${id ?? '?'}): ${reason}\n`);
    return false;
  }
  process.stdout.write('chain intact\n');
  return true;
});
