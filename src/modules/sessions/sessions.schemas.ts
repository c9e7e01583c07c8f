import { z } from 'zod';
import { pageOf } from '../../http/cursor.js';
import { multiLine, singleLine } from '../../http/text-fields.js';
import { SESSION_STATUSES } from '../../models/counseling-session.model.js';

export const EMOTIONS = [
  'joy', 'sadness', 'anger', 'fear', 'surprise', 'disgust', 'trust', 'anticipation',
  'calm', 'anxiety', 'shame', 'guilt', 'hope', 'loneliness', 'neutral',
] as const;

export const ENTRY_TEXT_MAX = 10_000;
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,255}$/;

const timestamp = z.iso.datetime({ offset: true });
const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);
const cursor = z.string().min(1).max(200).optional();
const text = multiLine(ENTRY_TEXT_MAX);

export const sessionIdSchema = { params: z.strictObject({ id: z.uuid() }) };

/** A counselor is named through an active care relationship: by the counselor, or by the relationship when there are several. */
export const startSessionSchema = {
  body: z.strictObject({
    counselorId: z.uuid().optional(),
    careId: z.uuid().optional(),
    topic: singleLine(200).optional(),
  }),
};

export const listSessionsSchema = {
  query: z
    .strictObject({
      status: z.enum(SESSION_STATUSES).optional(),
      from: timestamp.optional(),
      to: timestamp.optional(),
      limit: limit(100, 20),
      cursor,
    })
    .refine((query) => !query.from || !query.to || new Date(query.from) <= new Date(query.to), {
      message: 'from must not be after to',
      path: ['from'],
    }),
};

export const addEntrySchema = {
  params: sessionIdSchema.params,
  body: z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('emotion'),
      emotion: z.enum(EMOTIONS),
      valence: z.number().min(-1).max(1),
      arousal: z.number().min(0).max(1),
      at: timestamp.optional(),
    }),
    z.strictObject({ kind: z.literal('note'), text, at: timestamp.optional() }),
    z.strictObject({ kind: z.literal('transcript'), text, speaker: z.enum(['client', 'counselor']), at: timestamp.optional() }),
  ]),
};

export const listEntriesSchema = {
  params: sessionIdSchema.params,
  query: z.strictObject({ limit: limit(100, 50), cursor }),
};

export const feedbackSchema = {
  params: sessionIdSchema.params,
  body: z.strictObject({
    rating: z.number().int().min(1).max(5),
    comment: multiLine(2_000, 0).optional(),
  }),
};

/** Break-glass: why a platform admin must read this session's content. */
export const breakGlassSchema = {
  params: sessionIdSchema.params,
  body: z.strictObject({ reason: multiLine(500, 10) }),
};

export type StartSessionInput = z.output<typeof startSessionSchema.body>;
export type ListSessionsQuery = z.output<typeof listSessionsSchema.query>;
export type EntryInput = z.output<typeof addEntrySchema.body>;
export type FeedbackInput = z.output<typeof feedbackSchema.body>;

// ---- responses ------------------------------------------------------------------------

const isoTime = z.iso.datetime();

export const sessionResponse = z.strictObject({
  id: z.uuid(),
  userId: z.uuid(),
  counselorId: z.uuid().nullable(),
  /** The organization of the care relationship; null for sessions from before organizations. */
  organizationId: z.uuid().nullable(),
  topic: z.string().nullable(),
  status: z.enum(SESSION_STATUSES),
  startedAt: isoTime,
  pausedAt: isoTime.nullable(),
  endedAt: isoTime.nullable(),
  durationSeconds: z.number().int().min(0),
});

const author = { id: z.uuid(), authorId: z.uuid().nullable(), authorRole: z.enum(['client', 'counselor']), at: isoTime };
/** Present (and `text`/`comment` null) when the person's data key was destroyed: the content is erased for good. */
const erased = z.literal(true).optional().describe('the content was erased (its data key destroyed); the text is null');
export const entryResponse = z.discriminatedUnion('kind', [
  z.strictObject({ ...author, kind: z.literal('emotion'), emotion: z.enum(EMOTIONS), valence: z.number(), arousal: z.number() }),
  z.strictObject({ ...author, kind: z.literal('note'), text: z.string().nullable(), erased }),
  z.strictObject({ ...author, kind: z.literal('transcript'), text: z.string().nullable(), erased, speaker: z.enum(['client', 'counselor']) }),
]);

export { pageOf };

export const feedbackResponse = z.strictObject({ rating: z.number().int().min(1).max(5), comment: z.string().nullable(), erased, createdAt: isoTime });

const trend = z.strictObject({
  mean: z.number().nullable(),
  slopePerHour: z.number().nullable(),
  direction: z.enum(['rising', 'falling', 'steady']).nullable(),
});

export const reportResponse = z.strictObject({
  session: sessionResponse,
  durationSeconds: z.number().int().min(0),
  entries: z.strictObject({ emotion: z.number().int(), note: z.number().int(), transcript: z.number().int(), total: z.number().int() }),
  emotions: z.array(z.strictObject({ emotion: z.enum(EMOTIONS), count: z.number().int() })),
  valence: trend,
  arousal: trend,
  feedback: feedbackResponse.nullable(),
  /** True when the caller sees aggregates only: the feedback comment is left out. */
  contentWithheld: z.boolean(),
});

export const breakGlassResponse = z.strictObject({ sessionId: z.uuid(), reason: z.string(), expiresAt: isoTime });

/** A session in the owner's GDPR export: the session, the entries they can see, their feedback. */
export const exportedSessionResponse = sessionResponse.extend({
  entries: z.array(
    z.strictObject({
      id: z.uuid(),
      kind: z.enum(['emotion', 'note', 'transcript']),
      authorRole: z.enum(['client', 'counselor']),
      emotion: z.enum(EMOTIONS).nullable(),
      valence: z.number().nullable(),
      arousal: z.number().nullable(),
      text: z.string().nullable(),
      erased,
      speaker: z.enum(['client', 'counselor']).nullable(),
      at: isoTime,
    }),
  ),
  feedback: feedbackResponse.nullable(),
});
