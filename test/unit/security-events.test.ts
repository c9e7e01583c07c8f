import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/infra/logger.js';
import type { Models } from '../../src/models/index.js';
import { SecurityEventRecorder } from '../../src/modules/security-events/security-event-recorder.js';

type Row = { type: string; metadata: Record<string, unknown> };

const silent: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** A stand-in for the SecurityEvent model whose inserts take a few milliseconds, like a real database. */
function slowTable(options: { failFirst?: number } = {}) {
  const rows: Row[] = [];
  let failures = options.failFirst ?? 0;
  const model = {
    async bulkCreate(batch: Row[]) {
      await sleep(15);
      if (failures > 0) {
        failures -= 1;
        throw new Error('relation "security_events" does not exist');
      }
      rows.push(...batch);
      return batch;
    },
  };
  return { rows, models: { SecurityEvent: model } as unknown as Pick<Models, 'SecurityEvent'> };
}

describe('SecurityEventRecorder', () => {
  it('returns from record() at once and writes in the background', async () => {
    const table = slowTable();
    const recorder = new SecurityEventRecorder(table.models, silent);

    recorder.record({ type: 'login_success', userId: null, ip: '127.0.0.1', userAgent: 'x' });

    expect(table.rows).toHaveLength(0);
    await recorder.flush();
    expect(table.rows.map((row) => row.type)).toEqual(['login_success']);
  });

  it('drops metadata keys that look like secrets, whatever a caller passes', async () => {
    const table = slowTable();
    const recorder = new SecurityEventRecorder(table.models, silent);

    recorder.record({
      type: 'login_failure',
      metadata: { password: 'hunter2', refreshToken: 'abc', passwordHash: '$argon2id$', apiSecret: 's', cookie: 'c', Authorization: 'Bearer x', failures: 2 },
    });
    await recorder.flush();

    expect(table.rows[0]!.metadata).toEqual({ failures: 2 });
  });

  it('truncates the user agent to 256 characters', async () => {
    const table = slowTable();
    const recorder = new SecurityEventRecorder(table.models, silent);

    recorder.record({ type: 'logout', userAgent: 'u'.repeat(1000) });
    await recorder.flush();

    expect((table.rows[0] as unknown as { userAgent: string }).userAgent).toHaveLength(256);
  });

  it('keeps an event whose write failed and writes it on the next flush', async () => {
    const table = slowTable({ failFirst: 1 });
    const recorder = new SecurityEventRecorder(table.models, silent);

    recorder.record({ type: 'login_success' });
    await recorder.flush(); // the table is "gone": nothing written, nothing thrown

    expect(table.rows).toHaveLength(0);
    await recorder.flush();
    expect(table.rows.map((row) => row.type)).toEqual(['login_success']);
  });

  // BUG (src/modules/security-events/security-event-recorder.ts, flush): the `.finally(() => this.flushing = undefined)`
  // of a finished batch runs after the background flush has already started the next batch, so it clears the
  // promise of the batch still being written; a concurrent flush() then sees nothing in flight and returns before
  // that batch is stored. Tests (and shutdown) that await flush() can miss events: on PostgreSQL this made
  // "records token_validation_failure" and "records rate_limited" fail intermittently.
  it('flush() resolves only after every event recorded before it is written, even while a background write is running', async () => {
    const table = slowTable();
    const recorder = new SecurityEventRecorder(table.models, silent);
    recorder.record({ type: 'login_failure' });
    await nextTurn(); // the background flush starts writing the first event
    recorder.record({ type: 'rate_limited' }); // queued while that write is in flight

    await recorder.flush();

    expect(table.rows.map((row) => row.type)).toEqual(['login_failure', 'rate_limited']);
  });
});
