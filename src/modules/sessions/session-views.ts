import type { z } from 'zod';
import type { ContentCipher } from '../../crypto/content-cipher.js';
import { ERASED, type Erased } from '../../crypto/data-keys.js';
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
 * The keys a page of rows needs are loaded once for the page; content whose person's key was
 * destroyed (an erased account, in a restored backup) reads as `text: null, erased: true`.
 */
export function contentViews(content: ContentCipher) {
  function entryView(entry: SessionEntryModel, text: string | null | Erased): EntryView {
    const base = { id: entry.id, authorId: entry.authorId, authorRole: entry.authorRole, at: entry.at.toISOString() };
    if (entry.kind === 'emotion') {
      return { ...base, kind: 'emotion', emotion: entry.emotion as Emotion, valence: entry.valence ?? 0, arousal: entry.arousal ?? 0 };
    }
    const shown = text === ERASED ? { text: null, erased: true as const } : { text };
    if (entry.kind === 'note') return { ...base, kind: 'note', ...shown };
    return { ...base, kind: 'transcript', ...shown, speaker: entry.speaker as 'client' | 'counselor' };
  }

  function feedbackView(feedback: SessionFeedbackModel, comment: string | null | Erased): FeedbackView {
    return {
      rating: feedback.rating,
      comment: comment === ERASED ? null : comment,
      ...(comment === ERASED && { erased: true as const }),
      createdAt: feedback.createdAt.toISOString(),
    };
  }

  return {
    /** Entries as a reader sees them, their text decrypted (each person's key unwrapped once). */
    async entries(rows: SessionEntryModel[]): Promise<EntryView[]> {
      const open = await content.opener(rows.map((row) => row.text));
      return rows.map((row) => entryView(row, row.text === null ? null : open(row.text, textContext.entry(row.id))));
    },

    /** An entry just written: its plaintext is known, so its ciphertext is not opened. */
    written(entry: SessionEntryModel, knownText: string | null): EntryView {
      return entryView(entry, knownText);
    },

    async feedback(feedback: SessionFeedbackModel): Promise<FeedbackView> {
      if (feedback.comment === null) return feedbackView(feedback, null);
      const open = await content.opener([feedback.comment]);
      return feedbackView(feedback, open(feedback.comment, textContext.feedback(feedback.sessionId)));
    },

    /** Feedback just given, from its plaintext. */
    givenFeedback(feedback: SessionFeedbackModel, knownComment: string | null): FeedbackView {
      return feedbackView(feedback, knownComment);
    },

    /** The rating without the comment, for those who see aggregates only: the comment is never decrypted. */
    feedbackRating(feedback: SessionFeedbackModel): FeedbackView {
      return { rating: feedback.rating, comment: null, createdAt: feedback.createdAt.toISOString() };
    },
  };
}

export type ContentViews = ReturnType<typeof contentViews>;
