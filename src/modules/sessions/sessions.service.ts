import { randomUUID } from 'node:crypto';
import { Op, type Sequelize, type WhereOptions } from 'sequelize';
import type { ContentCipher } from '../../crypto/content-cipher.js';
import { idempotent } from '../../db/idempotency.js';
import { AppError } from '../../errors/app-error.js';
import { decodeCursor, page } from '../../http/cursor.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { CounselingSessionModel } from '../../models/counseling-session.model.js';
import type { Models } from '../../models/index.js';
import type { CareDirectory } from '../organizations/index.js';
import type { BreakGlass } from './break-glass.js';
import type { SessionChanges } from './session-changes.js';
import { hiddenFromClient, participation, sessionPolicy, type Actor, type Participation } from './session-access.js';
import { createSessionReport } from './session-report.js';
import { transition, type SessionAction } from './session-state.js';
import { contentViews, sessionView, textContext } from './session-views.js';
import type { EntryInput, FeedbackInput, ListSessionsQuery, StartSessionInput } from './sessions.schemas.js';

export interface SessionsDeps {
  sequelize: Sequelize;
  models: Pick<Models, 'CounselingSession' | 'SessionEntry' | 'SessionFeedback' | 'IdempotencyKey'>;
  maxEntriesPerSession: number;
  /** Entry text and feedback comments are encrypted here, and only here, under the data key of the session's client. */
  content: ContentCipher;
  /** Whether an account is an active counselor (the users module's answer). */
  isActiveCounselor: (userId: string) => Promise<boolean>;
  /** Care relationships and staff roles (the organizations module's answer). */
  care: Pick<CareDirectory, 'activeForClient' | 'isActive' | 'clientsOf' | 'staffOrganizationsOf'>;
  breakGlass: Pick<BreakGlass, 'isOpen' | 'recordRead'>;
  /** Throws unless the client's consent to process health data stands (the consent module's answer). */
  requireHealthDataConsent: (clientId: string) => Promise<void>;
  /** Entries written and states changed are announced here after they committed (the live channel pushes them). */
  changes?: Pick<SessionChanges, 'announce'>;
}

/** Accepted clock difference for a client-supplied entry time. */
const FUTURE_SKEW_MS = 60_000;

const unprocessable = (code: string, detail: string) => new AppError(422, code, 'Unprocessable request', { detail });
const counselorNotFound = () => unprocessable('COUNSELOR_NOT_FOUND', 'counselorId does not name an active counselor you are in an active care relationship with.');

export function createSessionsService(deps: SessionsDeps) {
  const { models, sequelize, content } = deps;
  const views = contentViews(content);
  const report = createSessionReport({ sequelize, models, views });

  /** Sessions the actor may list: own, those of the clients in their care, those of the organizations they run (metadata), all (platform admins). */
  async function listScope(actor: Actor): Promise<WhereOptions> {
    if (actor.role === 'admin') return {};
    const [clients, organizations] = await Promise.all([actor.role === 'counselor' ? deps.care.clientsOf(actor.userId) : [], deps.care.staffOrganizationsOf(actor.userId)]);
    const scopes: WhereOptions[] = [{ userId: actor.userId }];
    if (clients.length > 0) scopes.push({ counselorId: actor.userId, [Op.or]: clients.map(({ organizationId, clientId }) => ({ organizationId, userId: clientId })) });
    if (organizations.length > 0) scopes.push({ organizationId: organizations });
    return { [Op.or]: scopes };
  }

  /** Loads a session the actor may see, or 404: strangers cannot tell a session exists. */
  async function loadFor(actor: Actor, sessionId: string) {
    const session = await models.CounselingSession.findByPk(sessionId);
    const role = session
      ? await participation(session, actor, {
          activeCare: () => deps.care.isActive(session.organizationId!, actor.userId, session.userId),
          staffOfOrganization: async () => (await deps.care.staffOrganizationsOf(actor.userId)).includes(session.organizationId!),
        })
      : 'none';
    if (!session || !sessionPolicy.view(role)) throw AppError.notFound('session');
    return { session, role };
  }

  /**
   * Content (entry text, notes, feedback comments) for those who may read it; a platform
   * admin's read through break-glass is recorded for the client to see.
   */
  async function contentAccess(actor: Actor, session: CounselingSessionModel, role: Participation, read: 'entries' | 'report' | 'attachment', meta: Partial<RequestMeta>) {
    const breakGlass = role === 'admin' && (await deps.breakGlass.isOpen(actor.userId, session.id));
    const allowed = sessionPolicy.readContent(role, breakGlass);
    if (breakGlass) deps.breakGlass.recordRead(session, actor.userId, read, meta);
    return allowed;
  }

  const contentRestricted = (role: Participation) =>
    AppError.forbidden(
      'CONTENT_RESTRICTED',
      role === 'admin'
        ? 'Session content is for the client and their counselor; a platform admin reads it only through break-glass (POST /api/admin/sessions/:id/access).'
        : 'Session content is for the client and their counselor; an organization’s staff see metadata and aggregates.',
    );

  /** The care relationship a new session is held in: named by counselor or by relationship, active, with an active counselor. */
  async function careFor(input: StartSessionInput, clientId: string) {
    if (input.counselorId === undefined && input.careId === undefined) return null;
    const matching = (await deps.care.activeForClient(clientId)).filter(
      (care) => (input.counselorId === undefined || care.counselorId === input.counselorId) && (input.careId === undefined || care.id === input.careId),
    );
    if (matching.length === 0) throw input.counselorId === undefined ? unprocessable('CARE_RELATIONSHIP_NOT_FOUND', 'careId does not name an active care relationship of yours.') : counselorNotFound();
    if (matching.length > 1) throw unprocessable('CARE_RELATIONSHIP_AMBIGUOUS', 'You are in the care of this counselor in several organizations: name the relationship with careId.');
    const care = matching[0]!;
    if (!(await deps.isActiveCounselor(care.counselorId))) throw counselorNotFound();
    return care;
  }

  return {
    /** The client is always the caller; `Idempotency-Key` makes retries safe. */
    async start(actor: Actor, input: StartSessionInput, idempotencyKey: string | undefined) {
      await deps.requireHealthDataConsent(actor.userId);
      const care = await careFor(input, actor.userId);
      return idempotent(sequelize, models, { userId: actor.userId, scope: 'sessions.start', key: idempotencyKey, fingerprint: input }, async (transaction) => {
        const now = new Date();
        const session = await models.CounselingSession.create(
          { userId: actor.userId, counselorId: care?.counselorId ?? null, organizationId: care?.organizationId ?? null, topic: input.topic ?? null, startedAt: now, lastResumedAt: now },
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
      const conditions: WhereOptions[] = [await listScope(actor)];
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
      deps.changes?.announce({ type: 'session.deleted', sessionId: session.id });
    },

    /** pause / resume / end, applied only if nobody changed the state in between. */
    async changeState(actor: Actor, sessionId: string, action: SessionAction) {
      const { session, role } = await loadFor(actor, sessionId);
      if (!sessionPolicy.changeState(role)) throw AppError.forbidden('FORBIDDEN', 'An organization’s staff see sessions; the client, their counselor and platform admins run them.');
      const now = new Date();
      const changes = transition(session, action, now);
      const [updated] = await models.CounselingSession.update(changes, { where: { id: session.id, status: session.status } });
      if (updated === 0) throw AppError.conflict('INVALID_TRANSITION', 'The session changed meanwhile; reload it and try again.');
      await session.reload();
      deps.changes?.announce({ type: 'session.state', sessionId: session.id, status: session.status, at: now.toISOString() });
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
      await deps.requireHealthDataConsent(session.userId);
      // Sealed before the transaction: the client's data key may have to be made in the key store first.
      const id = randomUUID();
      const text = input.kind === 'emotion' ? null : await content.sealFor(session.userId, input.text, textContext.entry(id));
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
            text,
            speaker: input.kind === 'transcript' ? input.speaker : null,
            at,
          },
          { transaction },
        );
      });
      // What was just written, from the input: no need to decrypt the ciphertext we made.
      const view = views.written(entry, input.kind === 'emotion' ? null : input.text);
      deps.changes?.announce({ type: 'entry.created', sessionId: session.id, entry: view, hiddenFromClient: entry.kind === 'note' && entry.authorRole !== 'client' });
      return view;
    },

    /**
     * For the live channel: whether the actor may follow the session (as they may GET it;
     * 404 otherwise) and what they may receive. Content live is for the client (without the
     * counselor's notes) and their counselor only; break-glass reads go through REST, where
     * each one is recorded.
     */
    async join(actor: Actor, sessionId: string) {
      const { session, role } = await loadFor(actor, sessionId);
      return { participation: role, content: sessionPolicy.readContent(role, false), hideNotes: hiddenFromClient.applies(role), status: session.status };
    },

    /** An entry announced by another instance, read and decrypted once here for this instance's subscribers. */
    async entryOf(sessionId: string, entryId: string) {
      const row = await models.SessionEntry.findOne({ where: { id: entryId, sessionId } });
      if (!row) return null;
      const [entry] = await views.entries([row]);
      return { entry: entry!, hiddenFromClient: row.kind === 'note' && row.authorRole !== 'client' };
    },

    async listEntries(actor: Actor, sessionId: string, query: { limit: number; cursor?: string }, meta: Partial<RequestMeta> = {}) {
      const { session, role } = await loadFor(actor, sessionId);
      if (!(await contentAccess(actor, session, role, 'entries', meta))) throw contentRestricted(role);
      const cursor = decodeCursor(query.cursor);
      const conditions: WhereOptions[] = [{ sessionId: session.id }];
      if (hiddenFromClient.applies(role)) conditions.push(hiddenFromClient.where);
      if (cursor) conditions.push({ [Op.or]: [{ at: { [Op.gt]: cursor.at } }, { at: cursor.at, id: { [Op.gt]: cursor.id } }] });
      const rows = await models.SessionEntry.findAll({ where: { [Op.and]: conditions }, order: [['at', 'ASC'], ['id', 'ASC']], limit: query.limit + 1 });
      const { items, nextCursor } = page(rows, query.limit, (row) => ({ at: row.at, id: row.id }));
      return { items: await views.entries(items), nextCursor };
    },

    /** The client's rating, once, after the session ended. */
    async giveFeedback(actor: Actor, sessionId: string, input: FeedbackInput) {
      const { session, role } = await loadFor(actor, sessionId);
      if (!sessionPolicy.giveFeedback(role)) throw AppError.forbidden('FORBIDDEN', 'Only the client gives feedback.');
      await deps.requireHealthDataConsent(session.userId);
      if (session.status !== 'ended') throw AppError.conflict('SESSION_NOT_ENDED', 'Feedback is given after the session ends.');
      const comment = input.comment ? await content.sealFor(session.userId, input.comment, textContext.feedback(session.id)) : null;
      try {
        const feedback = await models.SessionFeedback.create({ sessionId: session.id, userId: actor.userId, rating: input.rating, comment });
        return views.givenFeedback(feedback, input.comment ?? null);
      } catch (error) {
        if ((error as Error).name === 'SequelizeUniqueConstraintError') throw AppError.conflict('FEEDBACK_EXISTS', 'Feedback was already given.');
        throw error;
      }
    },

    /**
     * How the caller stands towards a session's attachments (the files module asks): 404
     * for those who may not see the session; `mayWrite` as for entries; `mayRead` the
     * content rule, a break-glass read recorded. `readRefusal` is the 403 to throw.
     */
    async attachmentAccess(actor: Actor, sessionId: string, meta: Partial<RequestMeta>, options: { reading: boolean }) {
      const { session, role } = await loadFor(actor, sessionId);
      const mayRead = options.reading ? await contentAccess(actor, session, role, 'attachment', meta) : sessionPolicy.readContent(role, false);
      return {
        sessionId: session.id,
        clientId: session.userId,
        organizationId: session.organizationId,
        mayWrite: sessionPolicy.writeEntry(role),
        /** Before an attachment is stored: the client's consent to process health data stands (409 otherwise). */
        assertMayStore: () => deps.requireHealthDataConsent(session.userId),
        mayRead,
        readRefusal: () => contentRestricted(role),
      };
    },

    /** Everyone who may see the session gets the numbers; the feedback comment only those who may read content. */
    async report(actor: Actor, sessionId: string, meta: Partial<RequestMeta> = {}) {
      const { session, role } = await loadFor(actor, sessionId);
      const content = await contentAccess(actor, session, role, 'report', meta);
      return report(session, { hideNotes: hiddenFromClient.applies(role), withholdContent: !content });
    },
  };
}

export type SessionsService = ReturnType<typeof createSessionsService>;
