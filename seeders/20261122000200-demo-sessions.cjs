'use strict';
// Demo counseling data for the dashboard (`npm run db:seed`, development only): the demo
// counselor gets three clients with sessions and emotion entries across the last 30 days.
// No free text: notes and transcripts are encrypted by the app, so add them through the API.
// Skips clients that already have sessions, so running it again adds nothing.
const { randomUUID } = require('node:crypto');
const argon2 = require('argon2');

const COUNSELOR_EMAIL = 'counselor@demo.confidant.local';
const EXTRA_CLIENTS = [
  { email: 'client2@demo.confidant.local', name: 'Dana Client', password: 'willow-ember-granite-42' },
  { email: 'client3@demo.confidant.local', name: 'Eli Client', password: 'copper-fjord-marigold-42' },
];
const EMOTIONS = [
  ['calm', 0.4, 0.2], ['anxiety', -0.5, 0.8], ['hope', 0.6, 0.5], ['sadness', -0.6, 0.3],
  ['joy', 0.8, 0.7], ['neutral', 0, 0.3], ['anger', -0.7, 0.9], ['trust', 0.5, 0.4],
];
const DAY_MS = 86_400_000;

/** Same data on every run: a small deterministic generator instead of Math.random. */
function generator(seed) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

module.exports = {
  async up(queryInterface) {
    if (process.env.NODE_ENV === 'production') throw new Error('demo seeders never run in production');
    const q = queryInterface.sequelize;
    const now = new Date();
    const hash = (password) => argon2.hash(password, { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 });

    const existing = new Set((await q.query('SELECT email FROM users', { type: 'SELECT' })).map((row) => row.email));
    const newClients = [];
    for (const client of EXTRA_CLIENTS.filter((candidate) => !existing.has(candidate.email))) {
      newClients.push({ id: randomUUID(), email: client.email, name: client.name, role: 'user', password_hash: await hash(client.password), email_verified_at: now, created_at: now, updated_at: now });
    }
    if (newClients.length > 0) await queryInterface.bulkInsert('users', newClients);

    const [counselor] = await q.query('SELECT id FROM users WHERE email = :email', { replacements: { email: COUNSELOR_EMAIL }, type: 'SELECT' });
    if (!counselor) throw new Error('run the demo-accounts seeder first');
    const clients = await q.query('SELECT id, email FROM users WHERE email IN (:emails)', {
      replacements: { emails: ['client@demo.confidant.local', ...EXTRA_CLIENTS.map((client) => client.email)] },
      type: 'SELECT',
    });

    let created = 0;
    for (const [index, client] of clients.entries()) {
      const [{ count }] = await q.query('SELECT COUNT(*) AS count FROM counseling_sessions WHERE user_id = :id', { replacements: { id: client.id }, type: 'SELECT' });
      if (Number(count) > 0) continue;
      const random = generator(index + 7);
      const sessions = [];
      const entries = [];
      for (let daysAgo = 29; daysAgo >= 0; daysAgo -= 1 + Math.floor(random() * 2)) {
        const startedAt = new Date(now.getTime() - daysAgo * DAY_MS - Math.floor(random() * 6) * 3_600_000);
        const minutes = 20 + Math.floor(random() * 40);
        const open = daysAgo === 0;
        const id = randomUUID();
        const endedAt = open ? null : new Date(startedAt.getTime() + minutes * 60_000);
        const count = 4 + Math.floor(random() * 5);
        sessions.push({
          id, user_id: client.id, counselor_id: counselor.id, topic: ['Sleep', 'Work stress', 'Relationships', 'Confidence'][Math.floor(random() * 4)],
          status: open ? 'active' : 'ended', started_at: startedAt, last_resumed_at: open ? startedAt : null, paused_at: null, ended_at: endedAt,
          active_seconds: open ? 0 : minutes * 60, entry_count: count, created_at: startedAt, updated_at: endedAt ?? startedAt,
        });
        for (let i = 0; i < count; i += 1) {
          const [emotion, valence, arousal] = EMOTIONS[Math.floor(random() * EMOTIONS.length)];
          const at = new Date(startedAt.getTime() + ((i + 1) * Math.min(minutes, open ? 5 : minutes) * 60_000) / (count + 1));
          entries.push({ id: randomUUID(), session_id: id, user_id: client.id, author_id: client.id, author_role: 'client', kind: 'emotion', emotion,
            valence: Math.max(-1, Math.min(1, valence + (random() - 0.5) * 0.3)), arousal: Math.max(0, Math.min(1, arousal + (random() - 0.5) * 0.2)),
            text: null, speaker: null, at, created_at: at });
        }
      }
      await queryInterface.bulkInsert('counseling_sessions', sessions);
      await queryInterface.bulkInsert('session_entries', entries);
      created += sessions.length;
    }
    console.log(`Demo counseling data: ${created} sessions added for ${clients.length} clients of ${COUNSELOR_EMAIL}.`);
    for (const client of EXTRA_CLIENTS) console.log(`  user      ${client.email.padEnd(32)} ${client.password}`);
  },

  async down(queryInterface) {
    if (process.env.NODE_ENV === 'production') throw new Error('demo seeders never run in production');
    await queryInterface.bulkDelete('users', { email: EXTRA_CLIENTS.map((client) => client.email) });
    const q = queryInterface.sequelize;
    const clients = await q.query(`SELECT id FROM users WHERE email = 'client@demo.confidant.local'`, { type: 'SELECT' });
    if (clients.length > 0) await queryInterface.bulkDelete('counseling_sessions', { user_id: clients.map((client) => client.id) });
  },
};
