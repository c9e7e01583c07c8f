import { spawnSync } from 'node:child_process';

/** Debian's `prometheus` package ships both binaries; CI installs it (.ci/run › ensure_prometheus). */
export const PROMETHEUS_INSTALL_HINT = 'apt-get install --no-install-recommends prometheus';

/** The binary if it runs here, else undefined (a laptop without Prometheus): its tests skip. */
export function findBinary(name: 'promtool' | 'prometheus'): string | undefined {
  const result = spawnSync(name, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? name : undefined;
}

/** A describe title that says why it was skipped. */
export function titleFor(title: string, binary: string | undefined, name: string): string {
  return binary ? title : `${title} — SKIPPED: ${name} is not installed (${PROMETHEUS_INSTALL_HINT})`;
}
