import { DatabaseError } from 'sequelize';
import { describe, expect, it } from 'vitest';
import { ErrorHandler } from '../../src/errors/error-handler.js';
import { busy } from '../../src/errors/to-app-error.js';
import { capturingLogger } from '../helpers/logger.js';

function loggedFor() {
  const { logger, lines } = capturingLogger();
  return { logger, loud: () => lines.filter((line) => line.level !== 'debug') };
}

const pgError = (code: string) => new DatabaseError(Object.assign(new Error(`SQLSTATE ${code}`), { code, sql: 'UPDATE users SET name = $1' }));

describe('ErrorHandler with transient conditions', () => {
  it('logs a read-only database once for a run of failures, then again when the state changes', () => {
    const { logger, loud } = loggedFor();
    const handler = new ErrorHandler(logger, { exposeDebug: false });

    for (let i = 0; i < 50; i += 1) handler.handleProcessError(pgError('25006'), 'test');
    const afterReadOnly = loud().length;
    handler.handleProcessError(pgError('57P01'), 'test'); // the failover restarts the server
    for (let i = 0; i < 10; i += 1) handler.handleProcessError(pgError('57P03'), 'test'); // it starts up
    handler.handleProcessError(pgError('25006'), 'test'); // read-only again

    expect(afterReadOnly).toBe(1);
    expect(loud().map((line) => line.message.split(':').slice(0, 2).join(':'))).toEqual([
      'database:read-only',
      'database:shutting-down',
      'database:starting',
      'database:read-only',
    ]);
    expect(loud().every((line) => line.level === 'warn')).toBe(true); // an outage, not a bug: no error with a stack
    expect(handler.stats.snapshot().total).toBe(62); // every failure is still counted
  });

  it('keeps each group apart: saturated hashing does not hide a database state', () => {
    const { logger, loud } = loggedFor();
    const handler = new ErrorHandler(logger, { exposeDebug: false });

    for (let i = 0; i < 5; i += 1) {
      handler.handleProcessError(busy('password-hashing'), 'test');
      handler.handleProcessError(pgError('25006'), 'test');
    }

    expect(loud().map((line) => line.message.split(':').slice(0, 2).join(':'))).toEqual(['capacity:password-hashing', 'database:read-only']);
  });

  it('still logs every bug with its stack', () => {
    const { logger, loud } = loggedFor();
    const handler = new ErrorHandler(logger, { exposeDebug: false });

    for (let i = 0; i < 3; i += 1) handler.handleProcessError(pgError('42P01'), 'test');

    expect(loud().filter((line) => line.level === 'error')).toHaveLength(3);
  });
});
