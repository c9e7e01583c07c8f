/**
 * `npm run retention:report [-- --json] [-- --at <time>]`: what the next run of the retention
 * jobs would delete (docs/OPERATIONS.md §6), job by job and kind by kind, the sessions' data by
 * organization with the retention that applies to it. Counts only: no row's content, no name,
 * no address. It asks the jobs themselves (their `count`), so it decides what is past its date
 * exactly as they do, and it writes nothing: no lock, no sealing, no deletion.
 *
 * Exit status: 0 the report is complete, 1 a job could not count (the report says which) or the
 * database is not migrated, 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { createInfra } from '../context.js';
import { schemaStatus } from '../db/migrator.js';
import { ProxyTrustCheck } from '../http/proxy-trust.js';
import { retentionJobs } from '../jobs/retention-jobs.js';
import { renderRetentionReport, retentionReport } from '../jobs/retention-report.js';
import { createModules } from '../modules/index.js';
import { runCli } from './cli-context.js';

const USAGE = `usage: npm run retention:report [-- options]

  --json         the report as JSON, for machines
  --at <time>    what a run at that time would delete (ISO 8601, e.g. 2027-01-01T00:00:00Z); default: now
  -h, --help     this text

Exit status: 0 the report is complete, 1 a job could not count or the database is not migrated, 2 bad usage.
`;

class UsageError extends Error {}

function parseCommandLine(argv: string[]): { help: true } | { help: false; json: boolean; at: Date } {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { json: { type: 'boolean' }, at: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return { help: true };
  const at = values.at === undefined ? new Date() : new Date(values.at);
  if (Number.isNaN(at.getTime())) throw new UsageError(`--at must be a time such as 2027-01-01T00:00:00Z, got "${values.at}"`);
  return { help: false, json: values.json === true, at };
}

let command: ReturnType<typeof parseCommandLine> | undefined;
try {
  command = parseCommandLine(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`retention:report: ${error.message}\n\n${USAGE}`);
  process.exitCode = 2;
}

if (command?.help) process.stdout.write(USAGE);
else if (command) {
  const { json, at } = command;
  await runCli(async ({ config, sequelize, logger }) => {
    const schema = await schemaStatus(sequelize);
    if (schema.missing || schema.pending.length > 0) {
      process.stderr.write(`retention:report: the database is not migrated (${schema.missing ? 'no migration applied' : `${schema.pending.length} pending`}); run npm run db:migrate first\n`);
      return false;
    }
    // The modules the jobs belong to, on this database and file store. Without Redis: a report shares no state with the instances.
    const infra = createInfra({ config: { ...config, redis: { ...config.redis, url: undefined } }, sequelize, logs: logger });
    try {
      const modules = createModules(infra, { proxyTrust: new ProxyTrustCheck(config, logger), routes: () => [] });
      const report = await retentionReport(retentionJobs(infra, modules), at);
      process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : renderRetentionReport(report));
      return report.failed === 0;
    } finally {
      await infra.keyStore.close().catch(() => undefined);
    }
  });
}
