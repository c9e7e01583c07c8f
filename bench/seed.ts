import { randomUUID } from 'node:crypto';
import type { Sequelize } from 'sequelize';
import { hashPassword } from '../src/crypto/passwords.js';
import { defineModels } from '../src/models/index.js';

export const BENCH_PASSWORD = 'bench-lantern-orchard-velvet-42';
const DAY_MS = 86_400_000;

/**
 * The data docs/DESIGN.md §10 names: one client with 1,000 sessions and 50,000 emotion entries
 * spread over the last 90 days, plus a plain user for the /api/users/me scenario.
 */
export async function seedBenchData(sequelize: Sequelize) {
  const models = defineModels(sequelize);
  const passwordHash = await hashPassword(BENCH_PASSWORD);
  const heavy = await models.User.create({ email: 'heavy@bench.local', name: 'Heavy User', passwordHash, emailVerifiedAt: new Date() });
  const light = await models.User.create({ email: 'light@bench.local', name: 'Light User', passwordHash, emailVerifiedAt: new Date() });
  const now = Date.now();
  const sessions = Array.from({ length: 1000 }, (_, index) => {
    const startedAt = new Date(now - (index / 1000) * 90 * DAY_MS - 3_600_000);
    return {
      id: randomUUID(), userId: heavy.id, counselorId: null, topic: 'bench', status: 'ended' as const, startedAt,
      lastResumedAt: null, pausedAt: null, endedAt: new Date(startedAt.getTime() + 2_400_000), activeSeconds: 2_400, entryCount: 50,
    };
  });
  for (let i = 0; i < sessions.length; i += 200) await models.CounselingSession.bulkCreate(sessions.slice(i, i + 200));
  const emotions = ['calm', 'anxiety', 'hope', 'sadness', 'joy'] as const;
  for (let s = 0; s < sessions.length; s += 20) {
    const rows = sessions.slice(s, s + 20).flatMap((session) =>
      Array.from({ length: 50 }, (_, i) => ({
        id: randomUUID(), sessionId: session.id, userId: heavy.id, authorId: heavy.id, authorRole: 'client' as const, kind: 'emotion' as const,
        emotion: emotions[i % emotions.length]!, valence: Math.sin(i) * 0.8, arousal: (i % 10) / 10, text: null, speaker: null,
        at: new Date(session.startedAt.getTime() + i * 40_000),
      })),
    );
    await models.SessionEntry.bulkCreate(rows);
  }
  return { heavy: heavy.email, light: light.email };
}
