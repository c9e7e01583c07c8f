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

/**
 * A practice for the organization dashboard: an owner, 50 counselors and 2,000 clients, each
 * client in the care of one counselor with five sessions over the last 90 days (10,000
 * sessions, 20 entries each).
 */
export async function seedBenchOrganization(sequelize: Sequelize) {
  const models = defineModels(sequelize);
  const passwordHash = await hashPassword(BENCH_PASSWORD);
  const now = Date.now();
  const person = (email: string, role: 'user' | 'counselor') => ({ id: randomUUID(), email, name: email.split('@')[0]!, role, passwordHash, emailVerifiedAt: new Date() });
  const owner = await models.User.create(person('owner@bench.local', 'user'));
  const organization = await models.Organization.create({ name: 'Bench Practice', slug: 'bench-practice' });
  const counselors = Array.from({ length: 50 }, (_, i) => person(`counselor-${i}@bench.local`, 'counselor'));
  const clients = Array.from({ length: 2000 }, (_, i) => person(`client-${i}@bench.local`, 'user'));
  for (let i = 0; i < clients.length; i += 500) await models.User.bulkCreate([...(i === 0 ? counselors : []), ...clients.slice(i, i + 500)]);
  const membership = (userId: string, role: 'owner' | 'counselor' | 'client') => ({ organizationId: organization.id, userId, role });
  await models.Membership.bulkCreate([membership(owner.id, 'owner'), ...counselors.map((c) => membership(c.id, 'counselor'))]);
  for (let i = 0; i < clients.length; i += 500) await models.Membership.bulkCreate(clients.slice(i, i + 500).map((c) => membership(c.id, 'client')));
  const careOf = (index: number) => counselors[index % counselors.length]!.id;
  for (let i = 0; i < clients.length; i += 500) {
    await models.CareRelationship.bulkCreate(
      clients.slice(i, i + 500).map((c, j) => ({ organizationId: organization.id, counselorId: careOf(i + j), clientId: c.id, createdBy: owner.id, startedAt: new Date(now - 91 * DAY_MS) })),
    );
  }
  const sessions = clients.flatMap((client, index) =>
    Array.from({ length: 5 }, (_, k) => {
      const startedAt = new Date(now - ((index * 5 + k) / 10_000) * 90 * DAY_MS - 3_600_000);
      return {
        id: randomUUID(), userId: client.id, counselorId: careOf(index), organizationId: organization.id, topic: 'bench', status: 'ended' as const, startedAt,
        lastResumedAt: null, pausedAt: null, endedAt: new Date(startedAt.getTime() + 2_400_000), activeSeconds: 2_400, entryCount: 20,
      };
    }),
  );
  for (let i = 0; i < sessions.length; i += 1000) await models.CounselingSession.bulkCreate(sessions.slice(i, i + 1000));
  for (let s = 0; s < sessions.length; s += 100) {
    const rows = sessions.slice(s, s + 100).flatMap((session) =>
      Array.from({ length: 20 }, (_, i) => ({
        id: randomUUID(), sessionId: session.id, userId: session.userId, authorId: session.userId, authorRole: 'client' as const, kind: 'emotion' as const,
        emotion: 'calm' as const, valence: 0.2, arousal: 0.3, text: null, speaker: null, at: new Date(session.startedAt.getTime() + i * 60_000),
      })),
    );
    await models.SessionEntry.bulkCreate(rows);
  }
  return { owner: owner.email, organizationId: organization.id };
}
