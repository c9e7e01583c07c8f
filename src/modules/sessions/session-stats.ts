import { Op, QueryTypes, type Sequelize } from 'sequelize';
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

/** Consecutive UTC days with a session ('YYYY-MM-DD'), ending today (or yesterday, while today is still open). */
export function streakOf(days: string[], today: Date): number {
  const dayNumbers = new Set(days.map((day) => Date.parse(day) / DAY_MS)); // UTC midnights, as whole day numbers
  let cursor = Math.floor(utcMidnight(today).getTime() / DAY_MS);
  if (!dayNumbers.has(cursor)) cursor -= 1;
  let streak = 0;
  while (dayNumbers.has(cursor - streak)) streak += 1;
  return streak;
}

/** The clients a counselor is caring for now, per organization. */
export type CareClients = { organizationId: string; clientId: string }[];

/** Whose sessions a figure covers: a client's own, or those a counselor holds with the clients in their care now. */
export type StatsScope = { clientId: string } | { counselorId: string; clients: CareClients };

/** The sessions of those care relationships, as SQL over a counseling_sessions row (optionally aliased) with its replacements. */
function careSql(clients: CareClients, alias = ''): { sql: string; replacements: Record<string, string> } {
  if (clients.length === 0) return { sql: '1 = 0', replacements: {} };
  const column = (name: string) => (alias ? `${alias}.${name}` : name);
  return {
    sql: `(${clients.map((_, i) => `(${column('organization_id')} = :careOrg${i} AND ${column('user_id')} = :careClient${i})`).join(' OR ')})`,
    replacements: Object.fromEntries(clients.flatMap((client, i) => [[`careOrg${i}`, client.organizationId], [`careClient${i}`, client.clientId]])),
  };
}

/**
 * The numbers dashboards show, computed in the database: every figure is an aggregate over
 * a scope, never rows loaded into memory. Active time has one definition (activeSecondsSql).
 */
export function createSessionStats(sequelize: Sequelize, models: Pick<Models, 'CounselingSession'>) {
  const sql = sqlDialect(sequelize);
  const select = <T extends object = Row>(query: string, replacements: Record<string, unknown>): Promise<T[]> =>
    sequelize.query<T>(query, { replacements, type: QueryTypes.SELECT });

  type Aggregate = { kind: string; key: string | null; n: number | string; a: number | string | null; b: number | string | null; c: number | string | null };

  /**
   * Sessions by status, and those started in the window with their clients, active time and
   * entries, over the sessions the condition selects (`:since` and `:now` bound), as branches
   * of one UNION ALL statement (kind, key, then up to three figures). Entries count from each
   * session's `entry_count` (kept by the one write path, in the transaction that inserts the
   * entry), so a window over an organization's or the platform's sessions reads session rows
   * only, never the entries table.
   */
  const totalsSql = (where: string) =>
    `SELECT 'status' AS kind, CAST(status AS TEXT) AS "key", COUNT(*) AS n, NULL AS a, NULL AS b, NULL AS c FROM counseling_sessions WHERE ${where} GROUP BY status
     UNION ALL
     SELECT 'window', NULL, COUNT(*), COALESCE(SUM(${activeSecondsSql(sql)}), 0), COALESCE(SUM(entry_count), 0), COUNT(DISTINCT user_id)
       FROM counseling_sessions WHERE ${where} AND started_at >= :since`;

  function totalsOf(rows: Aggregate[]) {
    const recent = rows.find((row) => row.kind === 'window');
    return {
      byStatus: Object.fromEntries(rows.filter((row) => row.kind === 'status').map((row) => [String(row.key), Number(row.n)])),
      inWindow: Number(recent?.n ?? 0),
      activeClients: Number(recent?.c ?? 0),
      activeMinutes: Math.round(Number(recent?.a ?? 0) / 60),
      entriesInWindow: Number(recent?.b ?? 0),
    };
  }

  return {
    /** Sessions and active time in the window, today vs yesterday's mood, the streak and the last three sessions. */
    async forScope(scope: StatsScope, days: number) {
      const client = 'clientId' in scope;
      const actorId = client ? scope.clientId : scope.counselorId;
      const care = client ? { sql: '1 = 1', replacements: {} } : careSql(scope.clients);
      const sessionsOf = client ? 'user_id = :actorId' : `counselor_id = :actorId AND ${care.sql}`;
      const now = new Date();
      const today = utcMidnight(now);
      const r = { actorId, since: new Date(now.getTime() - days * DAY_MS), today, yesterday: new Date(today.getTime() - DAY_MS), now, ...care.replacements };
      // A client's entries carry their user_id; a counselor's are those of sessions they hold.
      const entryScope = client ? 'e.user_id = :actorId' : `e.session_id IN (SELECT id FROM counseling_sessions WHERE ${sessionsOf})`;
      // One statement: the window's totals and the streak's days from the client's (or
      // counselor's) session index, today's and yesterday's mood from the entries index.
      const since = (name: string) => `started_at >= ${sql.timestampParam(name)}`;
      const [row] = await select(
        `SELECT s.sessions, s.seconds, s.days, m.tv, m.ta, m.yv, m.ya
           FROM (SELECT SUM(CASE WHEN ${since('since')} THEN 1 ELSE 0 END) AS sessions,
                        COALESCE(SUM(CASE WHEN ${since('since')} THEN ${activeSecondsSql(sql)} ELSE 0 END), 0) AS seconds,
                        ${sql.distinctList(sql.utcDay('started_at'))} AS days
                   FROM counseling_sessions WHERE ${sessionsOf} AND started_at >= :streakSince) s
          CROSS JOIN (SELECT AVG(CASE WHEN e.at >= :today THEN e.valence END) AS tv, AVG(CASE WHEN e.at >= :today THEN e.arousal END) AS ta,
                             AVG(CASE WHEN e.at < :today THEN e.valence END) AS yv, AVG(CASE WHEN e.at < :today THEN e.arousal END) AS ya
                        FROM session_entries e WHERE ${entryScope} AND e.kind = 'emotion' AND e.at >= :yesterday) m`,
        { ...r, streakSince: new Date(today.getTime() - STREAK_LOOKBACK_DAYS * DAY_MS) },
      );
      const sessionDays = String(row?.days ?? '').split(',').filter(Boolean);
      const inCare = client ? [] : scope.clients.map(({ organizationId, clientId }) => ({ organizationId, userId: clientId }));
      const recent =
        client || inCare.length > 0
          ? await models.CounselingSession.findAll({
              where: client ? { userId: actorId } : { counselorId: actorId, [Op.or]: inCare },
              order: [['startedAt', 'DESC'], ['id', 'DESC']],
              limit: 3,
            })
          : [];
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

    /** Per client in a counselor's care, most recent first (at most 100). */
    async perClient(counselorId: string, clients: CareClients, days: number) {
      const care = careSql(clients, 's');
      const rows = await select(
        `SELECT s.user_id AS "userId", COUNT(*) AS sessions, COALESCE(SUM(${activeSecondsSql(sql, 's')}), 0) AS seconds,
                MAX(s.started_at) AS "lastSessionAt"
           FROM counseling_sessions s
          WHERE s.counselor_id = :counselorId AND ${care.sql} AND s.started_at >= :since
          GROUP BY s.user_id ORDER BY MAX(s.started_at) DESC LIMIT 100`,
        { counselorId, since: new Date(Date.now() - days * DAY_MS), now: new Date(), ...care.replacements },
      );
      return rows.map((row) => ({
        userId: String(row.userId),
        sessions: Number(row.sessions),
        activeMinutes: Math.round(Number(row.seconds) / 60),
        lastSessionAt: new Date(row.lastSessionAt as string | number | Date).toISOString(),
      }));
    },

    /** An organization's sessions in the window, for its dashboard: counts, active time, entries, ratings and each counselor's share, in one statement. */
    async organization(organizationId: string, days: number) {
      const inOrganization = 'organization_id = :organizationId';
      const rows = await select<Aggregate>(
        `${totalsSql(inOrganization)}
         UNION ALL
         SELECT 'feedback', NULL, COUNT(*), AVG(f.rating), NULL, NULL FROM session_feedback f
           JOIN counseling_sessions s ON s.id = f.session_id WHERE s.organization_id = :organizationId AND s.started_at >= :since
         UNION ALL
         SELECT 'counselor', "key", n, a, NULL, NULL FROM (
           SELECT CAST(counselor_id AS TEXT) AS "key", COUNT(*) AS n, COALESCE(SUM(${activeSecondsSql(sql)}), 0) AS a
             FROM counseling_sessions WHERE ${inOrganization} AND counselor_id IS NOT NULL AND started_at >= :since
            GROUP BY counselor_id ORDER BY COUNT(*) DESC LIMIT 100) held`,
        { organizationId, since: new Date(Date.now() - days * DAY_MS), now: new Date() },
      );
      const feedback = rows.find((row) => row.kind === 'feedback');
      const counselors = rows
        .filter((row) => row.kind === 'counselor')
        .map((row) => ({ counselorId: String(row.key), sessions: Number(row.n), activeMinutes: Math.round(Number(row.a) / 60) }))
        .sort((x, y) => y.sessions - x.sessions);
      return {
        ...totalsOf(rows),
        feedback: { count: Number(feedback?.n ?? 0), meanRating: num(feedback?.a) },
        counselors,
      };
    },

    /** Platform totals for admins. */
    platform: async (days: number) => totalsOf(await select<Aggregate>(totalsSql('1 = 1'), { since: new Date(Date.now() - days * DAY_MS), now: new Date() })),
  };
}
export type SessionStats = ReturnType<typeof createSessionStats>;
