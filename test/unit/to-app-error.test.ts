import {
  ConnectionError,
  ConnectionRefusedError,
  DatabaseError,
  DataTypes,
  ForeignKeyConstraintError,
  TimeoutError,
  UniqueConstraintError,
  Sequelize,
  ValidationError,
} from 'sequelize';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../../src/errors/app-error.js';
import { toAppError } from '../../src/errors/to-app-error.js';

/** What the pg driver attaches to a failed query; Sequelize wraps it. */
function driverError(message: string) {
  return Object.assign(new Error(message), { sql: 'SELECT * FROM users WHERE email = $1', parameters: [] });
}

describe('toAppError', () => {
  it('passes an AppError through unchanged', () => {
    const original = AppError.notFound('session');
    expect(toAppError(original)).toBe(original);
  });

  it.each([
    ['ConnectionError', new ConnectionError(new Error('connect ECONNREFUSED 10.0.0.5:5432'))],
    ['ConnectionRefusedError', new ConnectionRefusedError(new Error('connect ECONNREFUSED 10.0.0.5:5432'))],
    ['TimeoutError', new TimeoutError(driverError('canceling statement due to statement timeout'))],
  ])('turns a Sequelize %s into a 503 DATABASE_UNAVAILABLE with Retry-After', (_name, error) => {
    const converted = toAppError(error);
    expect(converted).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE', errorClass: 'database', isOperational: true });
    expect(converted.headers['Retry-After']).toBeDefined();
    expect(converted.detail).not.toContain('10.0.0.5');
    expect(converted.cause).toBe(error);
  });

  /** What the pg driver throws for a server-side error: a message and a SQLSTATE. */
  const pgError = (code: string, message: string) => Object.assign(driverError(message), { code, severity: 'ERROR' });

  it.each([
    ['25006', 'cannot execute UPDATE in a read-only transaction', 'database:read-only'],
    ['57P01', 'terminating connection due to administrator command', 'database:shutting-down'],
    ['57P02', 'terminating connection because of crash of another server process', 'database:shutting-down'],
    ['57P03', 'the database system is starting up', 'database:starting'],
    ['53300', 'sorry, too many clients already', 'database:too-many-connections'],
    ['08006', 'connection failure', 'database:unreachable'],
    ['08P01', 'protocol violation', 'database:unreachable'],
  ])('turns a DatabaseError with SQLSTATE %s (%s) into an operational 503 with Retry-After and condition %s', (code, message, condition) => {
    const error = new DatabaseError(pgError(code, message));

    const converted = toAppError(error);

    expect(converted).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE', errorClass: 'database', isOperational: true, condition });
    expect(converted.headers['Retry-After']).toBe('5');
    expect(converted.detail).not.toContain(message);
  });

  it('says a read-only database accepts no writes, as a hint that a failover is in progress', () => {
    expect(toAppError(new DatabaseError(pgError('25006', 'cannot execute INSERT in a read-only transaction'))).detail).toMatch(/accepts no writes/);
  });

  it.each([
    ['57P03', new ConnectionError(pgError('57P03', 'the database system is starting up')), 'database:starting'],
    ['53300', new ConnectionError(pgError('53300', 'sorry, too many clients already')), 'database:too-many-connections'],
    ['a plain driver error', pgError('25006', 'cannot execute UPDATE in a read-only transaction'), 'database:read-only'],
  ])('names the state of %s when the connection itself fails', (_label, error, condition) => {
    expect(toAppError(error)).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE', condition });
  });

  it.each([
    ['23505', 'duplicate key value violates unique constraint'],
    ['42P01', 'relation "users" does not exist'],
    ['22001', 'value too long for type character varying(64)'],
  ])('keeps any other SQLSTATE (%s) a non-operational 500', (code, message) => {
    expect(toAppError(new DatabaseError(pgError(code, message)))).toMatchObject({ status: 500, code: 'DATABASE_ERROR', isOperational: false });
  });

  it('turns a UniqueConstraintError into a 409 conflict without the SQL', () => {
    const error = new UniqueConstraintError({ message: 'duplicate key value violates unique constraint "users_email_key"', parent: driverError('duplicate key') });
    const converted = toAppError(error);
    expect(converted).toMatchObject({ status: 409, code: 'CONFLICT', errorClass: 'conflict' });
    expect(converted.detail).not.toMatch(/users_email_key|SELECT/);
  });

  it('turns a ForeignKeyConstraintError into a 409 REFERENCE_CONFLICT', () => {
    const error = new ForeignKeyConstraintError({ parent: driverError('insert or update violates foreign key constraint') });
    expect(toAppError(error)).toMatchObject({ status: 409, code: 'REFERENCE_CONFLICT' });
  });

  it('turns a Sequelize ValidationError into 400 VALIDATION_FAILED with field paths', async () => {
    // A model-level validation, raised by Sequelize itself (no connection is opened).
    const sequelize = new Sequelize('sqlite::memory:', { logging: false });
    const Contact = sequelize.define('Contact', { email: { type: DataTypes.STRING, validate: { isEmail: { msg: 'email must be an address' } } } });
    const error: unknown = await Contact.build({ email: 'nope' }).validate().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    const converted = toAppError(error);
    expect(converted).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect(converted.errors).toEqual([{ path: 'email', message: 'email must be an address' }]);
    await sequelize.close();
  });

  it('turns any other Sequelize error into a non-operational 500 DATABASE_ERROR', () => {
    const converted = toAppError(new DatabaseError(driverError('relation "users" does not exist')));
    expect(converted).toMatchObject({ status: 500, code: 'DATABASE_ERROR', errorClass: 'database', isOperational: false });
    expect(converted.detail).not.toMatch(/relation|SELECT/);
  });

  it('turns a ZodError into 400 VALIDATION_FAILED with a path and message per issue', () => {
    const result = z.object({ email: z.email(), tags: z.array(z.string()) }).safeParse({ email: 'nope', tags: ['ok', 3] });
    expect(result.success).toBe(false);
    const converted = toAppError(result.error);
    expect(converted).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errorClass: 'validation' });
    expect(converted.errors).toEqual([
      { path: 'email', message: expect.any(String) },
      { path: 'tags.1', message: expect.any(String) },
    ]);
  });

  it.each([
    ['entity.too.large', 413, 'PAYLOAD_TOO_LARGE'],
    ['entity.parse.failed', 400, 'MALFORMED_JSON'],
    ['charset.unsupported', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['request.aborted', 400, 'BAD_REQUEST_BODY'],
  ])('turns a body-parser %s error into %i %s', (type, status, code) => {
    const error = Object.assign(new Error('parser said something internal'), { type, status });
    expect(toAppError(error)).toMatchObject({ status, code, detail: expect.not.stringContaining('internal') });
  });

  it.each([
    ['an Error', new Error('secret=hunter2 at /srv/app/src/x.ts:1:1')],
    ['a string', 'something broke'],
    ['undefined', undefined],
    ['a plain object', { message: 'not an Error' }],
  ])('turns %s into a non-operational 500 INTERNAL_ERROR that hides the message', (_name, thrown) => {
    const converted = toAppError(thrown);
    expect(converted).toMatchObject({ status: 500, code: 'INTERNAL_ERROR', errorClass: 'unknown', isOperational: false });
    expect(converted.detail).toBe('An unexpected error occurred.');
    expect(converted.cause).toBe(thrown);
  });
});
