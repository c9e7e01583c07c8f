import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs an operations command (`src/cli/<name>.ts`) as its own process, as `npm run` would,
 * through tsx instead of the build, with only the given environment (plus PATH and HOME).
 */
export function runCli(script: string, options: { env?: Record<string, string>; args?: string[]; inheritEnv?: boolean } = {}): Promise<CliResult> {
  const base = options.inheritEnv ? process.env : { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, ...(options.args ?? [])],
      { cwd: ROOT, env: { ...base, ...options.env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}
