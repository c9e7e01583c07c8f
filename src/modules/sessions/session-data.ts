import { Op } from 'sequelize';
import type { Models } from '../../models/index.js';
import { hiddenFromClient } from './session-access.js';
import { sessionView, type ContentViews, type EntryView } from './session-views.js';

/** The export's entry: every field present (null where it does not apply), as the format has always had it. */
function exportedEntry(entry: EntryView) {
  return {
    id: entry.id,
    kind: entry.kind,
    authorRole: entry.authorRole,
    emotion: entry.kind === 'emotion' ? entry.emotion : null,
    valence: entry.kind === 'emotion' ? entry.valence : null,
    arousal: entry.kind === 'emotion' ? entry.arousal : null,
    text: entry.kind === 'emotion' ? null : entry.text,
    ...(entry.kind !== 'emotion' && entry.erased && { erased: true as const }),
    speaker: entry.kind === 'transcript' ? entry.speaker : null,
    at: entry.at,
  };
}

/** The client of each session named (the person its content is about), by session id: for the files module's key migration. */
export async function clientsOf(models: Pick<Models, 'CounselingSession'>, sessionIds: string[]): Promise<Map<string, string>> {
  if (sessionIds.length === 0) return new Map();
  const sessions = await models.CounselingSession.findAll({ where: { id: sessionIds }, attributes: ['id', 'userId'], raw: true });
  return new Map(sessions.map((session) => [session.id, session.userId]));
}

/**
 * A person's counseling data for the GDPR export: their own sessions as the client, with
 * the entries they can see (a counselor's notes stay out, as in the API) and their feedback.
 */
export function createSessionData(models: Pick<Models, 'CounselingSession' | 'SessionEntry' | 'SessionFeedback'>, views: ContentViews) {
  return {
    /** The ids of the person's own sessions (as the client): their attachments go with the account. */
    async idsOf(userId: string): Promise<string[]> {
      return (await models.CounselingSession.findAll({ where: { userId }, attributes: ['id'], raw: true })).map((session) => session.id);
    },

    async exportFor(userId: string) {
      const sessions = await models.CounselingSession.findAll({ where: { userId }, order: [['startedAt', 'ASC']] });
      const ids = sessions.map((session) => session.id);
      const entries = ids.length
        ? await models.SessionEntry.findAll({ where: { [Op.and]: [{ sessionId: ids }, hiddenFromClient.where] }, order: [['at', 'ASC'], ['id', 'ASC']] })
        : [];
      const feedback = ids.length ? await models.SessionFeedback.findAll({ where: { sessionId: ids } }) : [];
      const shown = await views.entries(entries);
      const feedbackShown = await Promise.all(feedback.map((item) => views.feedback(item)));
      return sessions.map((session) => {
        const own = feedback.findIndex((item) => item.sessionId === session.id);
        return {
          ...sessionView(session),
          entries: shown.filter((_, index) => entries[index]!.sessionId === session.id).map(exportedEntry),
          feedback: own >= 0 ? feedbackShown[own]! : null,
        };
      });
    },

    /** A counselor's export says only how many sessions they held: the content is their clients'. */
    countHeldBy(counselorId: string): Promise<number> {
      return models.CounselingSession.count({ where: { counselorId } });
    },
  };
}
