import { z } from 'zod';
import { sessionResponse } from '../sessions/index.js';

export const summarySchema = {
  query: z.strictObject({ days: z.coerce.number().int().min(1).max(90).default(7) }),
};

const mood = z.strictObject({ valence: z.number().nullable(), arousal: z.number().nullable() });
const scoped = {
  windowDays: z.number().int(),
  sessions: z.number().int(),
  activeMinutes: z.number().int(),
  mood: z.strictObject({ today: mood, yesterday: mood, trend: mood }),
  streakDays: z.number().int(),
  lastSessions: z.array(sessionResponse),
  recommendations: z.array(z.strictObject({ code: z.string(), message: z.string() })).max(3),
};

export const summaryResponse = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('user'), ...scoped }),
  z.strictObject({
    role: z.literal('counselor'),
    ...scoped,
    clients: z.array(
      z.strictObject({ userId: z.uuid(), name: z.string(), sessions: z.number().int(), activeMinutes: z.number().int(), lastSessionAt: z.iso.datetime() }),
    ),
  }),
  z.strictObject({
    role: z.literal('admin'),
    windowDays: z.number().int(),
    users: z.strictObject({ byRole: z.record(z.string(), z.number().int()), disabled: z.number().int() }),
    sessions: z.strictObject({ byStatus: z.record(z.string(), z.number().int()), inWindow: z.number().int(), activeClients: z.number().int() }),
    activeMinutes: z.number().int(),
    entriesInWindow: z.number().int(),
  }),
]);

export const organizationDashboardSchema = {
  params: z.strictObject({ id: z.uuid() }),
  query: summarySchema.query,
};

const count = z.number().int();

/** An organization's aggregates for its staff: no entry, note, comment or client name. */
export const organizationDashboardResponse = z.strictObject({
  organizationId: z.uuid(),
  windowDays: count,
  members: z.record(z.string(), count),
  care: z.strictObject({ active: count, ended: count }),
  pendingInvitations: count,
  sessions: z.strictObject({ byStatus: z.record(z.string(), count), inWindow: count, activeClients: count }),
  activeMinutes: count,
  entriesInWindow: count,
  feedback: z.strictObject({ count, meanRating: z.number().nullable() }),
  counselors: z.array(z.strictObject({ userId: z.uuid(), name: z.string(), clientsInCare: count, sessions: count, activeMinutes: count })),
});
