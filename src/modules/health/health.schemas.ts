import { z } from 'zod';

const check = z.strictObject({ status: z.enum(['up', 'down']), latencyMs: z.number().int().optional(), error: z.string().optional() });

export const indexResponse = z.strictObject({ name: z.string(), version: z.string(), health: z.string(), readiness: z.string() });
export const livenessResponse = z.strictObject({ status: z.literal('ok'), uptime: z.number().int(), version: z.string(), commit: z.string() });
export const readinessResponse = z.strictObject({
  status: z.enum(['ready', 'degraded']),
  phase: z.enum(['starting', 'ready', 'stopping']),
  checks: z.strictObject({
    database: check,
    keyStore: check.extend({
      location: z.enum(['separate-database', 'separate-file', 'same-database']),
      warning: z.string().optional().describe('set when the keys are in the data database: its backups carry them, and erasure does not reach those backups'),
    }),
    redis: check.optional(),
    storage: check.optional(),
    schema: z.strictObject({ status: z.literal('down'), pendingMigrations: z.array(z.string()), fix: z.string() }).optional(),
  }),
  proxyTrust: z.strictObject({
    status: z.enum(['ok', 'misconfigured']),
    trustProxy: z.number().int(),
    warnings: z.array(z.string()),
    forwarding: z.strictObject({ windowS: z.number(), requests: z.number().int(), overTrusted: z.number().int(), sampleHops: z.number().int().optional() }).optional(),
  }),
});
