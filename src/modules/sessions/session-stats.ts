import { QueryTypes, type Sequelize } from 'sequelize';
import { sqlDialect } from '../../db/sql.js';
import type { Models } from '../../models/index.js';
import { activeSecondsSql } from './session-state.js';
import { sessionView } from './session-views.js';

const DAY_MS = 86_400_000;
/** How far back the streak is looked for (a longer streak counts as this long). */
const STREAK_LOOKBACK_DAYS = 366;

type Row = Record<string, string | number | null>;

export function utcMidnight(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

const num = (value: unknown) => (value === null || value === undefined ? null : Math.round(Number(value) * 1000) / 1000);

/** Consecutive UTC days with a session, ending today (or yesterday, while today is still open). */
export function streakOf(days: string[], today: Date): number {
  const set = new Set(days);
  const key = (date: Date) => date.toISOString().slice(0, 10);
  let cursor = set.has(key(today)) ? today : new Date(today.getTime() - DAY_MS);
  let streak = 0;
  while (set.has(key(cursor))) {
    streak += 1;
    cursor = new Date(cursor.getTime() - DAY_MS);
  }
  return streak;
}

/** Whose sessions a figure covers: a client's own, or those a counselor holds. */
export type StatsScope = { clientId: string } | { counselorId: string };

/**
 * The numbers dashboards show, computed in the database: every figure is an aggregate over
 * a scope, never rows loaded into memory. Active time has one definition (activeSecondsSql).
 */
export function createSessionStats(sequelize: Sequelize, models: Pick<Models, 'CounselingSession'>) {
  const sql = sqlDialect(sequelize);
  const select = <T extends object = Row>(query: string, replacements: Record<string, unknown>): Promise<T[]> =>
    sequelize.query<T>(query, { replacements, type: QueryTypes.SELECT });

  return {
    /** Sessions and active time in the window, today vs yesterday's mood, the streak and the last three sessions. */
    async forScope(scope: StatsScope, days: number) {
      const [column, actorId] = 'clientId' in scope ? (['user_id', scope.clientId] as const) : (['counselor_id', scope.counselorId] as const);
      const now = new Date();
      const today = utcMidnight(now);
      const r = { actorId, since: new Date(now.getTime() - days * DAY_MS), today, yesterday: new Date(today.getTime() - DAY_MS), now };
      // A client's entries carry their user_id; a counselor's are those of sessions they hold.
      const entryScope = column === 'user_id' ? 'e.user_id = :actorId' : 'e.session_id IN (SELECT id FROM counseling_sessions WHERE counselor_id = :actorId)';
      // One statement: the window's totals and the streak's days from the client's (or
      // counselor's) session index, today's and yesterday's mood from the entries index.
      const since = (name: string) => `started_at >= ${sql.timestampParam(name)}`;
      const [row] = await select(
        `SELECT s.sessions, s.seconds, s.days, m.tv, m.ta, m.yv, m.ya
           FROM (SELECT SUM(CASE WHEN ${since('since')} THEN 1 ELSE 0 END) AS sessions,
                        COALESCE(SUM(CASE WHEN ${since('since')} THEN ${activeSecondsSql(sql)} ELSE 0 END), 0) AS seconds,
                        ${sql.distinctList(sql.utcDay('started_at'))} AS days
                   FROM counseling_sessions WHERE ${column} = :actorId AND started_at >= :streakSince) s
          CROSS JOIN (SELECT AVG(CASE WHEN e.at >= :today THEN e.valence END) AS tv, AVG(CASE WHEN e.at >= :today THEN e.arousal END) AS ta,
                             AVG(CASE WHEN e.at < :today THEN e.valence END) AS yv, AVG(CASE WHEN e.at < :today THEN e.arousal END) AS ya
                        FROM session_entries e WHERE ${entryScope} AND e.kind = 'emotion' AND e.at >= :yesterday) m`,
        { ...r, streakSince: new Date(today.getTime() - STREAK_LOOKBACK_DAYS * DAY_MS) },
      );
      const sessionDays = String(row?.days ?? '').split(',').filter(Boolean);
      const recent = await models.CounselingSession.findAll({
        where: column === 'user_id' ? { userId: actorId } : { counselorId: actorId },
        order: [['startedAt', 'DESC'], ['id', 'DESC']],
        limit: 3,
      });
      const todayMood = { valence: num(row?.tv), arousal: num(row?.ta) };
      const yesterdayMood = { valence: num(row?.yv), arousal: num(row?.ya) };
      const delta = (a: number | null, b: number | null) => (a === null || b === null ? null : num(a - b));
      return {
        sessions: Number(row?.sessions ?? 0),
        activeMinutes: Math.round(Number(row?.seconds ?? 0) / 60),
        today: todayMood,
        yesterday: yesterdayMood,
        trend: { valence: delta(todayMood.valence, yesterdayMood.valence), arousal: delta(todayMood.arousal, yesterdayMood.arousal) },
        streakDays: streakOf(sessionDays, today),
        lastSessionAt: recent[0]?.startedAt ?? null,
        lastSessions: recent.map((session) => sessionView(session, now)),
      };
    },

    /** Per client of a counselor, most recent first (at most 100). */
    async perClient(counselorId: string, days: number) {
      const rows = await select(
        `SELECT s.user_id AS "userId", COUNT(*) AS sessions, COALESCE(SUM(${activeSecondsSql(sql, 's')}), 0) AS seconds,
                MAX(s.started_at) AS "lastSessionAt"
           FROM counseling_sessions s
          WHERE s.counselor_id = :counselorId AND s.started_at >= :since
          GROUP BY s.user_id ORDER BY MAX(s.started_at) DESC LIMIT 100`,
        { counselorId, since: new Date(Date.now() - days * DAY_MS), now: new Date() },
      );
      return rows.map((row) => ({
        userId: String(row.userId),
        sessions: Number(row.sessions),
        activeMinutes: Math.round(Number(row.seconds) / 60),
        lastSessionAt: new Date(row.lastSessionAt as string | number | Date).toISOString(),
      }));
    },

    /** Platform totals for admins. */
    async platform(days: number) {
      const since = new Date(Date.now() - days * DAY_MS);
      const statuses = await select(`SELECT status, COUNT(*) AS count FROM counseling_sessions GROUP BY status`, {});
      const [recent] = await select(
        `SELECT COUNT(*) AS sessions, COUNT(DISTINCT user_id) AS clients, COALESCE(SUM(${activeSecondsSql(sql)}), 0) AS seconds
           FROM counseling_sessions WHERE started_at >= :since`,
        { since, now: new Date() },
      );
      const [entries] = await select(`SELECT COUNT(*) AS count FROM session_entries WHERE at >= :since`, { since });
      return {
        byStatus: Object.fromEntries(statuses.map((row) => [String(row.status), Number(row.count)])),
        inWindow: Number(recent?.sessions ?? 0),
        activeClients: Number(recent?.clients ?? 0),
        activeMinutes: Math.round(Number(recent?.seconds ?? 0) / 60),
        entriesInWindow: Number(entries?.count ?? 0),
      };
    },
  };
}

export type SessionStats = ReturnType<typeof createSessionStats>;
