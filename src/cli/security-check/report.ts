import { createHash } from 'node:crypto';
import escapeHtml from 'escape-html';
import { ProbeError, type Outcome, type Probe } from './probes.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  /** Not applicable with the given options (e.g. HSTS over plain HTTP); counts as ok. */
  skipped?: boolean;
}

export interface SecurityReport {
  baseUrl: string;
  ok: boolean;
  results: CheckResult[];
  /** ISO 8601. */
  startedAt: string;
  durationMs: number;
}


const status = (result: CheckResult) => (!result.ok ? 'FAIL' : result.skipped ? 'SKIP' : 'PASS');

/** Server-supplied text goes to a terminal: no control characters (escape sequences) get through. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function summary(report: SecurityReport): string {
  const failed = report.results.filter((r) => !r.ok).length;
  const skipped = report.results.filter((r) => r.skipped).length;
  const total = report.results.length;
  return report.ok
    ? `PASS: ${total - skipped} of ${total} checks passed${skipped ? `, ${skipped} skipped` : ''}`
    : `FAIL: ${failed} of ${total} checks failed`;
}

/** The plain-text report the CLI prints. */
export function renderText(report: SecurityReport): string {
  const width = Math.max(...report.results.map((r) => r.name.length), 10);
  const lines = [
    `Confidant security check: ${printable(report.baseUrl)}`,
    `started ${report.startedAt}, took ${report.durationMs} ms`,
    '',
    ...report.results.map((r) => `  ${status(r)}  ${printable(r.name).padEnd(width)}  ${printable(r.detail)}`),
    '',
    summary(report),
  ];
  return `${lines.join('\n')}\n`;
}

const STYLE = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1d2430;background:#fafbfc}
h1{font-size:1.4rem;margin:0 0 .25rem}
.meta{color:#5a6472;margin:0 0 1rem}
.banner{padding:.75rem 1rem;border-radius:.4rem;font-weight:600;margin-bottom:1rem}
.banner.pass{background:#e3f5e8;color:#16602e}.banner.fail{background:#fde8e8;color:#9b1c1c}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e4e7eb;vertical-align:top}
td.detail{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;word-break:break-word}
.badge{display:inline-block;min-width:3.2rem;text-align:center;border-radius:.3rem;padding:.05rem .4rem;font-size:12px;font-weight:700}
.PASS{background:#e3f5e8;color:#16602e}.FAIL{background:#fde8e8;color:#9b1c1c}.SKIP{background:#eef0f3;color:#5a6472}
`.trim();
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/**
 * A small self-contained status page. Every value is HTML-escaped, and the page's own CSP
 * allows nothing but its one inline stylesheet (by hash), so even a hostile detail string
 * cannot run script or load anything.
 */
export function renderHtml(report: SecurityReport): string {
  const e = (value: unknown) => escapeHtml(String(value));
  const verdict = report.ok ? 'PASS' : 'FAIL';
  const rows = report.results
    .map((r) => `<tr><td><span class="badge ${status(r)}">${status(r)}</span></td><td>${e(r.name)}</td><td class="detail">${e(r.detail)}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-${STYLE_HASH}'">
<meta name="referrer" content="no-referrer">
<title>${e(`Confidant security check: ${verdict} (${report.baseUrl})`)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Confidant security check</h1>
<p class="meta">${e(report.baseUrl)} &middot; started ${e(report.startedAt)} &middot; took ${e(report.durationMs)} ms</p>
<div class="banner ${report.ok ? 'pass' : 'fail'}">${e(summary(report))}</div>
<table>
<thead><tr><th>result</th><th>check</th><th>detail</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body>
</html>
`;
}

/** Collects check results; `on` runs a check on a response, failing it when the request could not be made. */
export function reportBuilder(baseUrl: URL) {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const results: CheckResult[] = [];
  const pass = (name: string, detail: string) => results.push({ name, ok: true, detail });
  const fail = (name: string, detail: string) => results.push({ name, ok: false, detail });
  return {
    pass,
    fail,
    skip: (name: string, detail: string) => results.push({ name, ok: true, detail, skipped: true }),
    on(name: string, outcome: Outcome, problem: (probe: Probe) => string | undefined, okDetail: (probe: Probe) => string) {
      if (outcome instanceof ProbeError) return fail(name, outcome.message);
      const why = problem(outcome);
      if (why === undefined) pass(name, okDetail(outcome));
      else fail(name, why);
    },
    finish: (): SecurityReport => ({
      baseUrl: baseUrl.href.replace(/\/$/, ''),
      ok: results.every((result) => result.ok),
      results,
      startedAt,
      durationMs: Math.round(performance.now() - started),
    }),
  };
}
