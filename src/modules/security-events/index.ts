import type { Infra } from '../../context.js';
import { retentionCutoff, type RetentionJob } from '../../infra/retention.js';
import { AuditChain } from './audit-chain.js';
import { SecurityEventRecorder } from './security-event-recorder.js';
import { createSecurityEventsService } from './security-events.service.js';

export { adminEventsSchema, eventListResponse, organizationEventsQuery, ownEventsSchema, suspiciousResponse } from './security-events.schemas.js';
export type { SecurityEventInput, SecurityEventRecorder } from './security-event-recorder.js';
export { AuditChain } from './audit-chain.js';

/**
 * The security-event log (`security_events`, `audit_checkpoints`): recording off the request
 * path, the tamper-evident chain, and the queries for owners and admins.
 */
export function createSecurityEventsModule(infra: Pick<Infra, 'sequelize' | 'models' | 'locks' | 'logger' | 'config'>) {
  const auditChain = new AuditChain(infra.sequelize, infra.models, infra.locks, infra.logger);
  const recorder = new SecurityEventRecorder(infra.models, infra.logger, () => auditChain.schedule());
  const service = createSecurityEventsService(infra.models);
  const cutoff = (now: Date) => retentionCutoff(now, infra.config.retention.securityEventDays);
  return {
    recorder,
    auditChain,
    ...service,
    /** Events leave through the chain, which records the purge as a checkpoint. */
    retentionJobs: {
      'purge-security-events': {
        count: async (now: Date) => ({ removes: { securityEvents: await auditChain.countBefore(cutoff(now)) } }),
        run: async (now: Date) => ({ securityEvents: await auditChain.purgeBefore(cutoff(now)) }),
      },
    } satisfies Record<string, RetentionJob>,
  };
}

export type SecurityEventsModule = ReturnType<typeof createSecurityEventsModule>;
