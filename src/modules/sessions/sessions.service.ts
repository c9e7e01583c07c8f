import { randomUUID } from 'node:crypto';
import { Op, type Sequelize, type WhereOptions } from 'sequelize';
import type { DataCipher } from '../../crypto/data-cipher.js';
import { idempotent } from '../../db/idempotency.js';
import { AppError } from '../../errors/app-error.js';
import { decodeCursor, page } from '../../http/cursor.js';
import type { Models } from '../../models/index.js';
import { hiddenFromClient, participation, sessionPolicy, type Actor } from './session-access.js';
import { createSessionReport } from './session-report.js';
import { transition, type SessionAction } from './session-state.js';
import { contentViews, sessionView, textContext } from './session-views.js';
import type { EntryInput, FeedbackInput, ListSessionsQuery, StartSessionInput } from './sessions.schemas.js';

export interface SessionsDeps {
  sequelize: Sequelize;
  models: Pick<Models, 'CounselingSession' | 'SessionEntry' | 'SessionFeedback' | 'IdempotencyKey'>;
  maxEntriesPerSession: number;
  /** Entry text and feedback comments are encrypted here, and only here, at rest. */
  cipher: DataCipher;
  /** Whether an account is an active counselor (the users module's answer). */
  isActiveCounselor: (userId: string) => Promise<boolean>;
}

/** Accepted clock difference for a client-supplied entry time. */
const FUTURE_SKEW_MS = 60_000;

/** Sessions the actor may list: own (clients), own or assigned (counselors), all (admins). */
function listScope(actor: Actor): WhereOptions {
  if (actor.role === 'admin') return {};
  if (actor.role === 'counselor') return { [Op.or]: [{ counselorId: actor.userId }, { userId: actor.userId }] };
  return { userId: actor.userId };
}

export function createSessionsService(deps: SessionsDeps) {
  const { models, sequelize, cipher } = deps;
  const views = contentViews(cipher);
  const report = createSessionReport({ sequelize, models, views });

  /** Loads a session the actor may see, or 404: strangers cannot tell a session exists. */
  async function loadFor(actor: Actor, sessionId: string) {
    const session = await models.CounselingSession.findByPk(sessionId);
    const role = session ? participation(session, actor) : 'none';
    if (!session || !sessionPolicy.view(role)) throw AppError.notFound('session');
    return { session, role };
  }

  async function assertCounselor(counselorId: string | undefined, clientId: string): Promise<void> {
    if (counselorId === undefined) return;
    if (counselorId === clientId || !(await deps.isActiveCounselor(counselorId))) {
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
      // What was just written, from the input: no need to decrypt the ciphertext we made.
      return views.entry(entry, input.kind === 'emotion' ? null : input.text);
    },

    async listEntries(actor: Actor, sessionId: string, query: { limit: number; cursor?: string }) {
      const { session, role } = await loadFor(actor, sessionId);
      const cursor = decodeCursor(query.cursor);
      const conditions: WhereOptions[] = [{ sessionId: session.id }];
      if (hiddenFromClient.applies(role)) conditions.push(hiddenFromClient.where);
      if (cursor) conditions.push({ [Op.or]: [{ at: { [Op.gt]: cursor.at } }, { at: cursor.at, id: { [Op.gt]: cursor.id } }] });
      const rows = await models.SessionEntry.findAll({ where: { [Op.and]: conditions }, order: [['at', 'ASC'], ['id', 'ASC']], limit: query.limit + 1 });
      const { items, nextCursor } = page(rows, query.limit, (row) => ({ at: row.at, id: row.id }));
      return { items: items.map((row) => views.entry(row)), nextCursor };
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
        return views.feedback(feedback, input.comment ?? null);
      } catch (error) {
        if ((error as Error).name === 'SequelizeUniqueConstraintError') throw AppError.conflict('FEEDBACK_EXISTS', 'Feedback was already given.');
        throw error;
      }
    },

    async report(actor: Actor, sessionId: string) {
      const { session, role } = await loadFor(actor, sessionId);
      return report(session, { hideNotes: hiddenFromClient.applies(role) });
    },
  };
}

export type SessionsService = ReturnType<typeof createSessionsService>;
