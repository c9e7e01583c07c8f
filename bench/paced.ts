import { Agent, request } from 'node:http';

export interface PacedRun {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
}

export interface PacedOptions {
  url: string;
  rate: number;
  durationS: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** The value below which `share` of the sorted values fall (nearest rank). */
function percentile(sorted: number[], share: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!;
}

const TICK_MS = 1;

/**
 * An open-loop load at a constant arrival rate: every millisecond the requests that are due are sent
 * (one every 1000/rate ms on average), whether or not earlier ones have been answered, over
 * keep-alive connections opened as needed. The latency of each request runs from the moment it
 * was due to the end of its answer, so a slow answer delays nothing else and a request that
 * had to wait for a connection counts that wait. autocannon's `overallRate` instead releases
 * each second's quota at the start of the second, so "20 requests/s over 10 connections"
 * measures bursts of 10 concurrent requests; both are reported.
 */
export async function paced(options: PacedOptions): Promise<PacedRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const target = new URL(options.url);
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const total = Math.round(options.rate * options.durationS);
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  const send = (dueAt: number) =>
    new Promise<void>((resolve) => {
      const req = request(target, { method: options.method ?? 'GET', headers: { ...options.headers, ...(options.body && { 'content-length': Buffer.byteLength(options.body) }) }, agent }, (res) => {
        res.resume();
        res.once('end', () => {
          latencies.push(performance.now() - dueAt);
          if (res.statusCode! < 200 || res.statusCode! >= 300) non2xx += 1;
          resolve();
        });
      });
      req.once('error', () => {
        errors += 1;
        resolve();
      });
      req.end(options.body);
    });
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && started + (sent * 1000) / options.rate <= now) {
        inFlight.push(send(started + (sent * 1000) / options.rate));
        sent += 1;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, TICK_MS);
    };
    tick();
  });
  await Promise.all(inFlight);
  const elapsedS = (performance.now() - started) / 1000;
  agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return { rps: Math.round(latencies.length / elapsedS), p50: round(percentile(sorted, 0.5)), p99: round(percentile(sorted, 0.99)), max: round(sorted.at(-1) ?? 0), non2xx, errors };
}
