import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { hashPassword } from '../../src/crypto/passwords.js';
import { createSequelize } from '../../src/db/database.js';
import { createMigrator, migrate } from '../../src/db/migrator.js';
import { LENIENT_LIMITS } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import { TEST_PASSWORD } from '../helpers/users.js';

/** The last migration before organizations existed. */
const BEFORE_ORGANIZATIONS = '20261122001000-add-jwks-activates-at.cjs';
/** The organization's own retention of its sessions' data, and the migration before it. */
const RETENTION = '20261209000100-add-organization-retention.cjs';
const BEFORE_RETENTION = '20261208000100-create-data-exports.cjs';

describe('the migrations that add organizations', () => {
  it('keep a session from before them readable by its client, closed to its counselor, and the security events sealed as they were', async () => {
    const database = await createTestDatabase();
    const config = loadConfig({ NODE_ENV: 'test', ...LENIENT_LIMITS, ...database.env });
    const sequelize = createSequelize(config);
    let built: ReturnType<typeof createApp> | undefined;
    try {
      await createMigrator(sequelize).up({ to: BEFORE_ORGANIZATIONS });
      const now = new Date();
      const passwordHash = await hashPassword(TEST_PASSWORD);
      const person = (role: string) => ({ id: randomUUID(), email: `${role}-${randomUUID().slice(0, 8)}@example.com`, name: 'Before', role, password_hash: passwordHash, email_verified_at: now, created_at: now, updated_at: now });
      const [client, counselor] = [person('user'), person('counselor')];
      const queryInterface = sequelize.getQueryInterface();
      await queryInterface.bulkInsert('users', [client, counselor]);
      const sessionId = randomUUID();
      await queryInterface.bulkInsert('counseling_sessions', [
        { id: sessionId, user_id: client.id, counselor_id: counselor.id, topic: 'Before', status: 'ended', started_at: now, ended_at: now, active_seconds: 600, entry_count: 0, created_at: now, updated_at: now },
      ]);

      await migrate(sequelize);

      built = createApp({ config, sequelize });
      const signIn = async (email: string) => `Bearer ${(await request(built!.app).post('/api/auth/login').send({ email, password: TEST_PASSWORD, transport: 'body' }).expect(200)).body.accessToken}`;
      const asClient = await signIn(client.email);
      const res = await request(built.app).get(`/api/sessions/${sessionId}`).set('Authorization', asClient).expect(200);
      expect(res.body).toMatchObject({ id: sessionId, userId: client.id, counselorId: counselor.id, organizationId: null, durationSeconds: 600 });
      expect((await request(built.app).get('/api/sessions').set('Authorization', asClient).expect(200)).body.items.map((item: { id: string }) => item.id)).toEqual([sessionId]);
      await request(built.app).get(`/api/sessions/${sessionId}/report`).set('Authorization', asClient).expect(200);
      await request(built.app).get(`/api/sessions/${sessionId}`).set('Authorization', await signIn(counselor.email)).expect(404);

      // The sign-ins' events, sealed without an organization, verify as before.
      await built.modules.securityEvents.recorder.flush();
      await built.modules.securityEvents.auditChain.sealPending();
      expect(await built.modules.securityEvents.auditChain.verify()).toMatchObject({ ok: true });
      const [row] = await sequelize.query<{ count: number | string }>('SELECT COUNT(*) AS count FROM security_events WHERE organization_id IS NULL', { type: QueryTypes.SELECT });
      expect(Number(row!.count)).toBeGreaterThan(0);
    } finally {
      await built?.drain();
      if (!built) await sequelize.close();
      await database.drop();
    }
  });

  it('can be undone and applied again', async () => {
    const database = await createTestDatabase();
    const sequelize = createSequelize(loadConfig({ NODE_ENV: 'test', ...database.env }));
    try {
      await migrate(sequelize);
      await createMigrator(sequelize).down({ to: '20261123000100-create-organizations.cjs' });
      expect(await sequelize.getQueryInterface().tableExists('organizations')).toBe(false);
      await migrate(sequelize);
      expect(await sequelize.getQueryInterface().tableExists('care_relationships')).toBe(true);
    } finally {
      await sequelize.close();
      await database.drop();
    }
  });

  it('give every existing organization the platform’s retention (no override), and the retention column can be undone', async () => {
    const database = await createTestDatabase();
    const sequelize = createSequelize(loadConfig({ NODE_ENV: 'test', ...database.env }));
    const migrator = createMigrator(sequelize);
    const queryInterface = sequelize.getQueryInterface();
    try {
      await migrator.up({ to: BEFORE_RETENTION });
      const now = new Date();
      const id = randomUUID();
      await queryInterface.bulkInsert('organizations', [{ id, name: 'Before', slug: `before-${id.slice(0, 8)}`, created_at: now, updated_at: now }]);

      await migrate(sequelize);

      const [row] = await sequelize.query<{ days: number | null }>('SELECT session_data_retention_days AS days FROM organizations WHERE id = :id', { replacements: { id }, type: QueryTypes.SELECT });
      expect(row).toEqual({ days: null });
      await migrator.down({ to: RETENTION });
      expect(Object.keys(await queryInterface.describeTable('organizations'))).not.toContain('session_data_retention_days');
      await migrate(sequelize);
      expect(Object.keys(await queryInterface.describeTable('organizations'))).toContain('session_data_retention_days');
    } finally {
      await sequelize.close();
      await database.drop();
    }
  });
});
