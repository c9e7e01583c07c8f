import { randomUUID } from 'node:crypto';
import type { SessionStatus } from '../../src/models/counseling-session.model.js';
import type { OrgRole } from '../../src/models/membership.model.js';
import type { EntryKind } from '../../src/models/session-entry.model.js';
import type { TestApp } from './app.js';

export { createUser, login, userWithToken, type TestUser } from './users.js';

export interface SessionFields {
  userId: string;
  counselorId?: string | null;
  /** The organization of the care relationship; without one the session is like those from before organizations. */
  organizationId?: string | null;
  status?: SessionStatus;
  startedAt?: Date;
  /** Banked active time; a running session adds the time since `lastResumedAt`. */
  activeSeconds?: number;
  lastResumedAt?: Date;
  topic?: string;
}

export interface EntryFields {
  kind: EntryKind;
  at: Date;
  authorRole?: 'client' | 'counselor';
  authorId?: string;
  emotion?: string;
  valence?: number;
  arousal?: number;
  /** Stored as given: tests of encryption write ciphertext or legacy plaintext on purpose. */
  text?: string;
  speaker?: string;
}

/**
 * Counseling sessions and entries straight in the database of a test app, so a test can
 * choose clocks, states and authors the API would not let it set.
 */
export function factories(t: Pick<TestApp, 'context'>) {
  const { models } = t.context;
  return {
    session(fields: SessionFields) {
      const startedAt = fields.startedAt ?? new Date();
      const status = fields.status ?? 'active';
      return models.CounselingSession.create({
        userId: fields.userId,
        counselorId: fields.counselorId ?? null,
        organizationId: fields.organizationId ?? null,
        topic: fields.topic ?? null,
        status,
        startedAt,
        lastResumedAt: status === 'active' ? (fields.lastResumedAt ?? startedAt) : null,
        pausedAt: status === 'paused' ? startedAt : null,
        endedAt: status === 'ended' ? new Date(startedAt.getTime() + 60_000) : null,
        activeSeconds: fields.activeSeconds ?? 0,
      });
    },

    /** An entry, counted on its session as the sessions service's write path counts it. */
    async entry(session: { id: string; userId: string }, fields: EntryFields) {
      await models.CounselingSession.increment('entryCount', { where: { id: session.id } });
      return models.SessionEntry.create({
        sessionId: session.id,
        userId: session.userId,
        authorId: fields.authorId ?? session.userId,
        authorRole: fields.authorRole ?? 'client',
        kind: fields.kind,
        emotion: fields.emotion ?? null,
        valence: fields.valence ?? null,
        arousal: fields.arousal ?? null,
        text: fields.text ?? null,
        speaker: fields.speaker ?? null,
        at: fields.at,
      });
    },

    organization(fields: { name?: string; slug?: string } = {}) {
      return models.Organization.create({ name: fields.name ?? 'Test Practice', slug: fields.slug ?? `practice-${randomUUID().slice(0, 8)}` });
    },

    member(organizationId: string, userId: string, role: OrgRole) {
      return models.Membership.create({ organizationId, userId, role });
    },

    /** An active care relationship (pass `endedAt` for one that ended). */
    care(organizationId: string, counselorId: string, clientId: string, endedAt: Date | null = null) {
      return models.CareRelationship.create({ organizationId, counselorId, clientId, createdBy: null, startedAt: new Date(), endedAt });
    },

    /** An emotion reading by the client. */
    emotion(session: { id: string; userId: string }, at: Date, valence: number, arousal: number) {
      return this.entry(session, { kind: 'emotion', emotion: 'neutral', valence, arousal, at });
    },
  };
}
