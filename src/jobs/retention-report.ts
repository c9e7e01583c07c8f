import { tallyTotal, type OrganizationForecast, type RetentionJob, type RetentionTally } from '../infra/retention.js';

export type JobForecast = { total: number; removes: RetentionTally; byOrganization?: OrganizationForecast[] } | { error: string };

/** What a run of every retention job at `at` would delete: counts by job and kind, never what a row says. */
export interface RetentionReport {
  at: string;
  total: number;
  /** Jobs whose count failed (their `error` says why). */
  failed: number;
  jobs: Record<string, JobForecast>;
}

/** Asks each job what it would remove at `at`, one after another; a job that cannot count is reported, not fatal. */
export async function retentionReport(jobs: Record<string, RetentionJob>, at: Date): Promise<RetentionReport> {
  const report: RetentionReport = { at: at.toISOString(), total: 0, failed: 0, jobs: {} };
  for (const [name, job] of Object.entries(jobs)) {
    try {
      const { removes, byOrganization } = await job.count(at);
      const total = tallyTotal(removes);
      report.jobs[name] = { total, removes, ...(byOrganization && { byOrganization }) };
      report.total += total;
    } catch (error) {
      report.jobs[name] = { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
      report.failed += 1;
    }
  }
  return report;
}

/** `loginSessions` → `login sessions`, for people. */
const words = (kind: string) => kind.replace(/[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`);

/** The report for a terminal: one line per job and kind, then the organizations whose sessions would lose data. */
export function renderRetentionReport(report: RetentionReport): string {
  const lines = [`Retention report: what a run at ${report.at} would delete (counts only; this report deletes nothing)`, ''];
  const row = (job: string, kind: string, count: string) => `  ${job.padEnd(28)} ${kind.padEnd(22)} ${count.padStart(9)}`;
  lines.push(row('job', 'kind', 'count'));
  for (const [name, forecast] of Object.entries(report.jobs)) {
    if ('error' in forecast) {
      lines.push(row(name, 'COUNT FAILED', '?'), `    ${forecast.error}`);
      continue;
    }
    Object.entries(forecast.removes).forEach(([kind, count], index) => lines.push(row(index === 0 ? name : '', words(kind), String(count))));
    for (const group of forecast.byOrganization ?? []) {
      const who = group.organizationId === null ? 'sessions in no organization' : `organization ${group.organizationId}`;
      const what = Object.entries(group.removes).map(([kind, count]) => `${words(kind)} ${count}`).join(', ');
      lines.push(`      ${who}, kept ${group.retentionDays} days: sessions ${group.sessions}, ${what}`);
    }
  }
  lines.push('', row('total', '', String(report.total)));
  if (report.failed > 0) lines.push('', `${report.failed} job(s) could not count; the total leaves them out.`);
  return `${lines.join('\n')}\n`;
}
