import type { z } from 'zod';
import type { DataCipher } from '../../crypto/data-cipher.js';
import type { CounselingSessionModel } from '../../models/counseling-session.model.js';
import type { SessionEntryModel } from '../../models/session-entry.model.js';
import type { SessionFeedbackModel } from '../../models/session-feedback.model.js';
import { activeSecondsAt } from './session-state.js';
import type { EMOTIONS, entryResponse, feedbackResponse, sessionResponse } from './sessions.schemas.js';

export type SessionView = z.input<typeof sessionResponse>;
export type EntryView = z.input<typeof entryResponse>;
export type FeedbackView = z.input<typeof feedbackResponse>;
type Emotion = (typeof EMOTIONS)[number];

/** What a stored ciphertext is bound to: moving it to another row makes it undecryptable. */
export const textContext = {
  entry: (entryId: string) => `session_entries:${entryId}`,
  feedback: (sessionId: string) => `session_feedback:${sessionId}`,
};

export function sessionView(session: CounselingSessionModel, now = new Date()): SessionView {
  return {
    id: session.id,
    userId: session.userId,
    counselorId: session.counselorId,
    organizationId: session.organizationId ?? null,
    topic: session.topic,
    status: session.status,
    startedAt: session.startedAt.toISOString(),
    pausedAt: session.pausedAt?.toISOString() ?? null,
    endedAt: session.endedAt?.toISOString() ?? null,
    durationSeconds: activeSecondsAt(session, now),
  };
}

/**
 * The one place counseling text is decrypted for a reader: entries and feedback comments.
 * Callers have already applied the access rules (who may see the session, hidden notes).
 */
export function contentViews(cipher: DataCipher) {
  const entryText = (entry: SessionEntryModel) => (entry.text === null ? null : cipher.decrypt(entry.text, textContext.entry(entry.id)));
  return {
    /** `knownText`: the plaintext of an entry just written, so its ciphertext need not be opened. */
    entry(entry: SessionEntryModel, knownText?: string | null): EntryView {
      const text = () => (knownText !== undefined ? knownText : entryText(entry));
      const base = { id: entry.id, authorId: entry.authorId, authorRole: entry.authorRole, at: entry.at.toISOString() };
      if (entry.kind === 'emotion') {
        return { ...base, kind: 'emotion', emotion: entry.emotion as Emotion, valence: entry.valence ?? 0, arousal: entry.arousal ?? 0 };
      }
      if (entry.kind === 'note') return { ...base, kind: 'note', text: text() };
      return { ...base, kind: 'transcript', text: text(), speaker: entry.speaker as 'client' | 'counselor' };
    },

    /** `knownComment`: as for entries, the plaintext of feedback just given. */
    feedback(feedback: SessionFeedbackModel, knownComment?: string | null): FeedbackView {
      const comment = () => (feedback.comment === null ? null : cipher.decrypt(feedback.comment, textContext.feedback(feedback.sessionId)));
      return {
        rating: feedback.rating,
        comment: knownComment !== undefined ? knownComment : comment(),
        createdAt: feedback.createdAt.toISOString(),
      };
    },

    /** The rating without the comment, for those who see aggregates only: the comment is never decrypted. */
    feedbackRating(feedback: SessionFeedbackModel): FeedbackView {
      return { rating: feedback.rating, comment: null, createdAt: feedback.createdAt.toISOString() };
    },
  };
}

export type ContentViews = ReturnType<typeof contentViews>;
