'use strict';
// A demo practice (`npm run db:seed`, development only): Harbor Counseling, owned by the demo
// owner, run day to day by the demo manager, where the demo counselor has the three demo
// clients in their care. The demo sessions move into the practice, so the counselor's
// dashboard and the practice's dashboard show them. Running it again adds nothing.
const { randomUUID } = require('node:crypto');
const argon2 = require('argon2');

const SLUG = 'harbor-counseling';
const STAFF = [
  { email: 'owner@demo.confidant.local', name: 'Olive Owner', role: 'owner', password: 'lagoon-thistle-anchor-42' },
  { email: 'manager@demo.confidant.local', name: 'Milo Manager', role: 'manager', password: 'prairie-cobalt-lantern-42' },
];
const COUNSELOR_EMAIL = 'counselor@demo.confidant.local';
const CLIENT_EMAILS = ['client@demo.confidant.local', 'client2@demo.confidant.local', 'client3@demo.confidant.local'];

function refuseProduction() {
  if (process.env.NODE_ENV === 'production') throw new Error('demo seeders never run in production');
}

module.exports = {
  STAFF,

  async up(queryInterface) {
    refuseProduction();
    const q = queryInterface.sequelize;
    const now = new Date();
    const [existing] = await q.query('SELECT id FROM organizations WHERE slug = :slug', { replacements: { slug: SLUG }, type: 'SELECT' });
    if (existing) {
      console.log(`Demo practice ${SLUG} exists already.`);
      return;
    }

    const taken = new Set((await q.query('SELECT email FROM users', { type: 'SELECT' })).map((row) => row.email));
    const accounts = [];
    for (const person of STAFF.filter((candidate) => !taken.has(candidate.email))) {
      accounts.push({
        id: randomUUID(), email: person.email, name: person.name, role: 'user',
        password_hash: await argon2.hash(person.password, { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 }),
        email_verified_at: now, created_at: now, updated_at: now,
      });
    }
    if (accounts.length > 0) await queryInterface.bulkInsert('users', accounts);

    const people = await q.query('SELECT id, email FROM users WHERE email IN (:emails)', {
      replacements: { emails: [...STAFF.map((person) => person.email), COUNSELOR_EMAIL, ...CLIENT_EMAILS] },
      type: 'SELECT',
    });
    const idOf = (email) => people.find((person) => person.email === email)?.id;
    const counselor = idOf(COUNSELOR_EMAIL);
    const clients = CLIENT_EMAILS.map(idOf).filter(Boolean);
    if (!counselor || clients.length === 0) throw new Error('run the demo-accounts and demo-sessions seeders first');

    const organization = randomUUID();
    await queryInterface.bulkInsert('organizations', [{ id: organization, name: 'Harbor Counseling', slug: SLUG, created_at: now, updated_at: now }]);
    const member = (userId, role) => ({ id: randomUUID(), organization_id: organization, user_id: userId, role, created_at: now, updated_at: now });
    await queryInterface.bulkInsert('memberships', [
      ...STAFF.map((person) => member(idOf(person.email), person.role)),
      member(counselor, 'counselor'),
      ...clients.map((client) => member(client, 'client')),
    ]);
    await queryInterface.bulkInsert(
      'care_relationships',
      clients.map((client) => ({
        id: randomUUID(), organization_id: organization, counselor_id: counselor, client_id: client, created_by: idOf(STAFF[1].email),
        started_at: now, ended_at: null, ended_by: null, created_at: now, updated_at: now,
      })),
    );
    await q.query('UPDATE counseling_sessions SET organization_id = :organization WHERE counselor_id = :counselor AND user_id IN (:clients) AND organization_id IS NULL', {
      replacements: { organization, counselor, clients },
    });

    console.log(`Demo practice Harbor Counseling (${SLUG}): ${COUNSELOR_EMAIL} counsels ${clients.length} clients.`);
    for (const person of STAFF) console.log(`  ${person.role.padEnd(9)} ${person.email.padEnd(32)} ${person.password}`);
  },

  async down(queryInterface) {
    refuseProduction();
    const q = queryInterface.sequelize;
    const [organization] = await q.query('SELECT id FROM organizations WHERE slug = :slug', { replacements: { slug: SLUG }, type: 'SELECT' });
    if (organization) {
      await q.query('UPDATE counseling_sessions SET organization_id = NULL WHERE organization_id = :id', { replacements: { id: organization.id } });
      await queryInterface.bulkDelete('organizations', { id: organization.id });
    }
    await queryInterface.bulkDelete('users', { email: STAFF.map((person) => person.email) });
  },
};
