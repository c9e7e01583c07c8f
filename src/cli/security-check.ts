/**
 * `npm run security:check -- <base-url> [options]`: checks a running deployment against
 * docs/DESIGN.md §2, §4 and §5 (health, readiness, JWKS, security headers, CORS, rate-limit
 * headers, problem responses, response time), prints a text report, writes an HTML status page,
 * and exits 0 when every check passes, 1 on any failure or an unreachable URL, 2 on bad usage.
 *
 * Standalone on purpose: it loads no app configuration and touches no database.
 */
import { accessSync, constants, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULTS, parseBaseUrl, parseOrigin, renderHtml, renderText, runSecurityCheck, type SecurityCheckOptions } from './security-check/index.js';

const USAGE = `usage: npm run security:check -- <base-url> [options]

  <base-url>             the deployment to check, e.g. http://127.0.0.1:3000 or https://api.example.com
  --origin <origin>      an origin listed in CORS_ORIGINS: it must be allowed with credentials
  --html <path>          where to write the HTML status page
                         (default: ./security-report.html, or the temp directory when . is not writable)
  --expect-https         require HSTS even when <base-url> is plain HTTP (TLS ends at a proxy)
  --max-ms <n>           largest acceptable median GET /health time in ms (default ${DEFAULTS.maxMs})
  --timeout-ms <n>       per-request timeout in ms (default ${DEFAULTS.timeoutMs})
  -h, --help             this text

Exit status: 0 all checks passed, 1 a check failed or the URL is unreachable, 2 bad usage.
`;

class UsageError extends Error {}

function positiveNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new UsageError(`--${name} must be a positive number, got "${value}"`);
  return number;
}

function defaultHtmlPath(): string {
  try {
    accessSync(process.cwd(), constants.W_OK);
    return resolve('security-report.html');
  } catch {
    return join(tmpdir(), 'security-report.html');
  }
}

function parseCommandLine(argv: string[]): { help: true } | { help: false; baseUrl: string; html: string; options: SecurityCheckOptions } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        origin: { type: 'string' },
        html: { type: 'string' },
        'expect-https': { type: 'boolean' },
        'max-ms': { type: 'string' },
        'timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `expected one base URL, got ${positionals.length}` : 'the base URL is missing');
  let baseUrl: string;
  let origin: string | undefined;
  try {
    baseUrl = parseBaseUrl(positionals[0]!).href;
    origin = values.origin === undefined ? undefined : parseOrigin(values.origin);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.html === '') throw new UsageError('--html needs a path');
  return {
    help: false,
    baseUrl,
    html: values.html === undefined ? defaultHtmlPath() : resolve(values.html),
    options: {
      origin,
      expectHttps: values['expect-https'] === true,
      maxMs: positiveNumber('max-ms', values['max-ms']),
      timeoutMs: positiveNumber('timeout-ms', values['timeout-ms']),
    },
  };
}

async function main(argv: string[]): Promise<number> {
  let command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`security:check: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (command.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const report = await runSecurityCheck(command.baseUrl, command.options);
  process.stdout.write(renderText(report));
  try {
    writeFileSync(command.html, renderHtml(report));
    process.stdout.write(`HTML status page: ${command.html}\n`);
  } catch (error) {
    process.stderr.write(`security:check: could not write the HTML status page to ${command.html}: ${(error as Error).message}\n`);
    return 1;
  }
  return report.ok ? 0 : 1;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`security:check: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
