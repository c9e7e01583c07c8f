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
