import { randomUUID } from 'node:crypto';
import { Op, QueryTypes, type Sequelize, type WhereOptions } from 'sequelize';
import { idempotent } from '../../db/idempotency.js';
import { sqlDialect } from '../../db/sql.js';
import { AppError } from '../../errors/app-error.js';
import { decodeCursor, page } from '../../lib/cursor.js';
import type { DataCipher } from '../../lib/data-cipher.js';
import type { Models } from '../../models/index.js';
import type { CounselingSessionModel } from '../../models/counseling-session.model.js';
import type { SessionEntryModel } from '../../models/session-entry.model.js';
import { hiddenFromClient, participation, sessionPolicy, type Actor } from './session-access.js';
import { activeSecondsAt, transition, type SessionAction } from './session-state.js';
import type { EntryInput, FeedbackInput, ListSessionsQuery, StartSessionInput } from './sessions.schemas.js';

export interface SessionsDeps {
  sequelize: Sequelize;
  models: Pick<Models, 'User' | 'CounselingSession' | 'SessionEntry' | 'SessionFeedback' | 'IdempotencyKey'>;
  maxEntriesPerSession: number;
  /** Entry text and feedback comments are encrypted here, and only here, at rest. */
  cipher: DataCipher;
}

/** What a stored ciphertext is bound to: moving it to another row makes it undecryptable. */
export const textContext = {
  entry: (entryId: string) => `session_entries:${entryId}`,
  feedback: (sessionId: string) => `session_feedback:${sessionId}`,
};

/** Accepted clock difference for a client-supplied entry time. */
const FUTURE_SKEW_MS = 60_000;

export function sessionView(session: CounselingSessionModel, now = new Date()) {
  return {
    id: session.id,
    userId: session.userId,
    counselorId: session.counselorId,
    topic: session.topic,
    status: session.status,
    startedAt: session.startedAt.toISOString(),
    pausedAt: session.pausedAt?.toISOString() ?? null,
    endedAt: session.endedAt?.toISOString() ?? null,
    durationSeconds: activeSecondsAt(session, now),
  };
}

export type SessionView = ReturnType<typeof sessionView>;

/** Sessions the actor may list: own (clients), own or assigned (counselors), all (admins). */
function listScope(actor: Actor): WhereOptions {
  if (actor.role === 'admin') return {};
  if (actor.role === 'counselor') return { [Op.or]: [{ counselorId: actor.userId }, { userId: actor.userId }] };
  return { userId: actor.userId };
}

export function createSessionsService(deps: SessionsDeps) {
  const { models, sequelize } = deps;
  const { cipher } = deps;
  const sql = sqlDialect(sequelize);

  function entryView(entry: SessionEntryModel) {
    return {
      id: entry.id,
      kind: entry.kind,
      authorId: entry.authorId,
      authorRole: entry.authorRole,
      ...(entry.kind === 'emotion' && { emotion: entry.emotion, valence: entry.valence, arousal: entry.arousal }),
      ...(entry.kind !== 'emotion' && { text: entry.text === null ? null : cipher.decrypt(entry.text, textContext.entry(entry.id)) }),
      ...(entry.kind === 'transcript' && { speaker: entry.speaker }),
      at: entry.at.toISOString(),
    };
  }

  /** Loads a session the actor may see, or 404: strangers cannot tell a session exists. */
  async function loadFor(actor: Actor, sessionId: string) {
    const session = await models.CounselingSession.findByPk(sessionId);
    const role = session ? participation(session, actor) : 'none';
    if (!session || !sessionPolicy.view(role)) throw AppError.notFound('session');
    return { session, role };
  }

  async function assertCounselor(counselorId: string | undefined, clientId: string): Promise<void> {
    if (counselorId === undefined) return;
    const counselor = await models.User.findOne({ where: { id: counselorId, role: 'counselor', disabledAt: null }, attributes: ['id'] });
    if (!counselor || counselorId === clientId) {
      throw new AppError(422, 'COUNSELOR_NOT_FOUND', 'Unprocessable request', { detail: 'counselorId does not name an active counselor.' });
    }
  }

  return {
    /** The client is always the caller; `Idempotency-Key` makes retries safe. */
    async start(actor: Actor, input: StartSessionInput, idempotencyKey: string | undefined) {
      await assertCounselor(input.counselorId, actor.userId);
      return idempotent(sequelize, models, { userId: actor.userId, scope: 'sessions.start', key: idempotencyKey, fingerprint: input }, async (transaction) => {
        const now = new Date();
        const session = await models.CounselingSession.create(
          { userId: actor.userId, counselorId: input.counselorId ?? null, topic: input.topic ?? null, startedAt: now, lastResumedAt: now },
          { transaction },
        );
        return { status: 201, body: sessionView(session, now) };
      });
    },

    async list(actor: Actor, query: ListSessionsQuery) {
      const cursor = decodeCursor(query.cursor);
      const startedAt = {
        ...(query.from && { [Op.gte]: new Date(query.from) }),
        ...(query.to && { [Op.lte]: new Date(query.to) }),
      };
      const conditions: WhereOptions[] = [listScope(actor)];
      if (query.status) conditions.push({ status: query.status });
      if (query.from || query.to) conditions.push({ startedAt });
      if (cursor) conditions.push({ [Op.or]: [{ startedAt: { [Op.lt]: cursor.at } }, { startedAt: cursor.at, id: { [Op.lt]: cursor.id } }] });
      const rows = await models.CounselingSession.findAll({
        where: { [Op.and]: conditions },
        order: [['startedAt', 'DESC'], ['id', 'DESC']],
        limit: query.limit + 1,
      });
      const now = new Date();
      const { items, nextCursor } = page(rows, query.limit, (row) => ({ at: row.startedAt, id: row.id }));
      return { items: items.map((row) => sessionView(row, now)), nextCursor };
    },

    async get(actor: Actor, sessionId: string) {
      const { session } = await loadFor(actor, sessionId);
      return sessionView(session);
    },

    async remove(actor: Actor, sessionId: string): Promise<void> {
      const { session, role } = await loadFor(actor, sessionId);
      if (!sessionPolicy.remove(role)) throw AppError.forbidden('FORBIDDEN', 'Only the client or an admin may delete a session.');
      await session.destroy();
    },

    /** pause / resume / end, applied only if nobody changed the state in between. */
    async changeState(actor: Actor, sessionId: string, action: SessionAction) {
      const { session, role } = await loadFor(actor, sessionId);
      if (!sessionPolicy.changeState(role)) throw AppError.notFound('session');
      const now = new Date();
      const changes = transition(session, action, now);
      const [updated] = await models.CounselingSession.update(changes, { where: { id: session.id, status: session.status } });
      if (updated === 0) throw AppError.conflict('INVALID_TRANSITION', 'The session changed meanwhile; reload it and try again.');
      await session.reload();
      return sessionView(session, now);
    },

    /** Appends to the timeline while the session is open, within the per-session bound. */
    async addEntry(actor: Actor, sessionId: string, input: EntryInput) {
      const { session, role } = await loadFor(actor, sessionId);
      if (!sessionPolicy.writeEntry(role)) throw AppError.forbidden('FORBIDDEN', 'Only the client and the assigned counselor write entries.');
      const now = new Date();
      const at = input.at ? new Date(input.at) : now;
      if (at.getTime() > now.getTime() + FUTURE_SKEW_MS || at.getTime() < session.startedAt.getTime() - FUTURE_SKEW_MS) {
        throw AppError.badRequest('ENTRY_TIME_OUT_OF_RANGE', 'at must lie between the start of the session and now.');
      }
      const entry = await sequelize.transaction(async (transaction) => {
        // One conditional update claims a slot: open session and room left, decided atomically.
        const [claimed] = await models.CounselingSession.update(
          { entryCount: sequelize.literal('entry_count + 1') as unknown as number },
          { where: { id: session.id, status: { [Op.ne]: 'ended' }, entryCount: { [Op.lt]: deps.maxEntriesPerSession } }, transaction },
        );
        if (claimed === 0) {
          await session.reload({ transaction });
          if (session.status === 'ended') throw AppError.conflict('SESSION_ENDED', 'Entries cannot be added to an ended session.');
          throw AppError.conflict('ENTRY_LIMIT_REACHED', `A session holds at most ${deps.maxEntriesPerSession} entries.`);
        }
        const id = randomUUID();
        return models.SessionEntry.create(
          {
            id,
            sessionId: session.id,
            userId: session.userId,
            authorId: actor.userId,
            authorRole: role === 'client' ? 'client' : 'counselor',
            kind: input.kind,
            emotion: input.kind === 'emotion' ? input.emotion : null,
            valence: input.kind === 'emotion' ? input.valence : null,
            arousal: input.kind === 'emotion' ? input.arousal : null,
            text: input.kind === 'emotion' ? null : cipher.encrypt(input.text, textContext.entry(id)),
            speaker: input.kind === 'transcript' ? input.speaker : null,
            at,
          },
          { transaction },
        );
      });
      return entryView(entry);
    },

    async listEntries(actor: Actor, sessionId: string, query: { limit: number; cursor?: string }) {
      const { session, role } = await loadFor(actor, sessionId);
      const cursor = decodeCursor(query.cursor);
      const conditions: WhereOptions[] = [{ sessionId: session.id }];
      if (hiddenFromClient.applies(role)) conditions.push(hiddenFromClient.where);
      if (cursor) conditions.push({ [Op.or]: [{ at: { [Op.gt]: cursor.at } }, { at: cursor.at, id: { [Op.gt]: cursor.id } }] });
      const rows = await models.SessionEntry.findAll({ where: { [Op.and]: conditions }, order: [['at', 'ASC'], ['id', 'ASC']], limit: query.limit + 1 });
      const { items, nextCursor } = page(rows, query.limit, (row) => ({ at: row.at, id: row.id }));
      return { items: items.map(entryView), nextCursor };
    },

    /** The client's rating, once, after the session ended. */
    async giveFeedback(actor: Actor, sessionId: string, input: FeedbackInput) {
      const { session, role } = await loadFor(actor, sessionId);
      if (!sessionPolicy.giveFeedback(role)) throw AppError.forbidden('FORBIDDEN', 'Only the client gives feedback.');
      if (session.status !== 'ended') throw AppError.conflict('SESSION_NOT_ENDED', 'Feedback is given after the session ends.');
      try {
        const feedback = await models.SessionFeedback.create({
          sessionId: session.id,
          userId: actor.userId,
          rating: input.rating,
          comment: input.comment ? cipher.encrypt(input.comment, textContext.feedback(session.id)) : null,
        });
        return { rating: feedback.rating, comment: input.comment ?? null, createdAt: feedback.createdAt.toISOString() };
      } catch (error) {
        if ((error as Error).name === 'SequelizeUniqueConstraintError') throw AppError.conflict('FEEDBACK_EXISTS', 'Feedback was already given.');
        throw error;
      }
    },

    /** Duration, counts, emotion distribution, valence/arousal mean and trend: aggregated in SQL. */
    async report(actor: Actor, sessionId: string) {
      const { session, role } = await loadFor(actor, sessionId);
      const hiddenNotes = hiddenFromClient.applies(role) ? `AND ${hiddenFromClient.sql}` : '';
      const replacements = { sessionId: session.id, startedAt: session.startedAt };
      const counts = await sequelize.query<{ kind: string; count: number | string }>(
        `SELECT kind, COUNT(*) AS count FROM session_entries WHERE session_id = :sessionId ${hiddenNotes} GROUP BY kind`,
        { replacements, type: QueryTypes.SELECT },
      );
      const emotions = await sequelize.query<{ emotion: string; count: number | string }>(
        `SELECT emotion, COUNT(*) AS count FROM session_entries WHERE session_id = :sessionId AND kind = 'emotion' GROUP BY emotion ORDER BY COUNT(*) DESC, emotion`,
        { replacements, type: QueryTypes.SELECT },
      );
      const x = sql.hoursBetween(sql.timestampParam('startedAt'), 'at');
      const [stats] = await sequelize.query<Record<string, number | string | null>>(
        `SELECT COUNT(*) AS n, AVG(valence) AS mv, AVG(arousal) AS ma,
                SUM(${x}) AS sx, SUM(${x} * ${x}) AS sxx,
                SUM(${x} * valence) AS sxv, SUM(${x} * arousal) AS sxa, SUM(valence) AS sv, SUM(arousal) AS sa
           FROM session_entries WHERE session_id = :sessionId AND kind = 'emotion'`,
        { replacements, type: QueryTypes.SELECT },
      );
      const feedback = await models.SessionFeedback.findOne({ where: { sessionId: session.id } });
      const byKind = Object.fromEntries(counts.map((row) => [row.kind, Number(row.count)]));
      return {
        session: sessionView(session),
        durationSeconds: activeSecondsAt(session, new Date()),
        entries: {
          emotion: byKind.emotion ?? 0,
          note: byKind.note ?? 0,
          transcript: byKind.transcript ?? 0,
          total: Object.values(byKind).reduce((sum, value) => sum + value, 0),
        },
        emotions: emotions.map((row) => ({ emotion: row.emotion, count: Number(row.count) })),
        valence: trendOf(stats, 'mv', 'sxv', 'sv'),
        arousal: trendOf(stats, 'ma', 'sxa', 'sa'),
        feedback: feedback
          ? {
              rating: feedback.rating,
              comment: feedback.comment === null ? null : cipher.decrypt(feedback.comment, textContext.feedback(session.id)),
              createdAt: feedback.createdAt.toISOString(),
            }
          : null,
      };
    },
  };
}

/** Mean, and the least-squares slope per hour over the session's emotion entries. */
function trendOf(stats: Record<string, number | string | null> | undefined, meanKey: string, sxyKey: string, syKey: string) {
  const n = Number(stats?.n ?? 0);
  if (!stats || n === 0) return { mean: null, slopePerHour: null, direction: null };
  const [sx, sxx, sxy, sy] = [stats.sx, stats.sxx, stats[sxyKey], stats[syKey]].map(Number) as [number, number, number, number];
  const denominator = n * sxx - sx * sx;
  const slope = n > 1 && Math.abs(denominator) > 1e-12 ? (n * sxy - sx * sy) / denominator : 0;
  const direction = slope > 0.05 ? 'rising' : slope < -0.05 ? 'falling' : 'steady';
  return { mean: round(Number(stats[meanKey])), slopePerHour: round(slope), direction };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export type SessionsService = ReturnType<typeof createSessionsService>;
