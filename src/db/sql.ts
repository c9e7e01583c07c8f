import type { Sequelize } from 'sequelize';
import { dialectOf } from './database.js';

/**
 * The few SQL expressions that differ between PostgreSQL and SQLite, in one place.
 * Arguments are SQL written in code (columns, `timestampParam(...)`), never user input.
 */
export function sqlDialect(sequelize: Sequelize) {
  const postgres = dialectOf(sequelize) === 'postgres';
  return {
    /** A bound `:name` replacement used as a timestamp. */
    timestampParam: (name: string) => (postgres ? `CAST(:${name} AS timestamptz)` : `:${name}`),
    /** Hours from one timestamp expression to another. */
    hoursBetween: (from: string, to: string) =>
      postgres ? `(EXTRACT(EPOCH FROM (${to} - ${from})) / 3600.0)` : `((julianday(${to}) - julianday(${from})) * 24.0)`,
    /** The distinct values of a text expression, comma-separated, in one aggregate. */
    distinctList: (expression: string) => (postgres ? `string_agg(DISTINCT ${expression}, ',')` : `group_concat(DISTINCT ${expression})`),
    /** The UTC calendar day of a timestamp column, as 'YYYY-MM-DD'. */
    utcDay: (column: string) => (postgres ? `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')` : `date(${column})`),
  };
}

export type SqlDialect = ReturnType<typeof sqlDialect>;
