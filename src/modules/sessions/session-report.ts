import { QueryTypes, type Sequelize } from 'sequelize';
import type { z } from 'zod';
import { sqlDialect } from '../../db/sql.js';
import type { CounselingSessionModel } from '../../models/counseling-session.model.js';
import type { Models } from '../../models/index.js';
import { hiddenFromClient } from './session-access.js';
import { activeSecondsAt } from './session-state.js';
import type { ContentViews } from './session-views.js';
import { sessionView } from './session-views.js';
import type { EMOTIONS, reportResponse } from './sessions.schemas.js';

type Stats = Record<string, number | string | null>;
type Emotion = (typeof EMOTIONS)[number];

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Mean, and the least-squares slope per hour over the session's emotion entries. */
function trendOf(stats: Stats | undefined, meanKey: string, sxyKey: string, syKey: string) {
  const n = Number(stats?.n ?? 0);
  if (!stats || n === 0) return { mean: null, slopePerHour: null, direction: null };
  const [sx, sxx, sxy, sy] = [stats.sx, stats.sxx, stats[sxyKey], stats[syKey]].map(Number) as [number, number, number, number];
  const denominator = n * sxx - sx * sx;
  const slope = n > 1 && Math.abs(denominator) > 1e-12 ? (n * sxy - sx * sy) / denominator : 0;
  const direction = slope > 0.05 ? ('rising' as const) : slope < -0.05 ? ('falling' as const) : ('steady' as const);
  return { mean: round(Number(stats[meanKey])), slopePerHour: round(slope), direction };
}

/**
 * A session's report: duration, entry counts, emotion distribution, mean and trend of
 * valence and arousal, feedback; every figure aggregated in SQL.
 */
export function createSessionReport(deps: { sequelize: Sequelize; models: Pick<Models, 'SessionFeedback'>; views: ContentViews }) {
  const { sequelize, models, views } = deps;
  const sql = sqlDialect(sequelize);
  const select = <T extends object>(query: string, replacements: Record<string, unknown>) => sequelize.query<T>(query, { replacements, type: QueryTypes.SELECT });

  /** `hideNotes` for the client; `withholdContent` for whoever sees aggregates only (the feedback comment stays out). */
  return async function report(session: CounselingSessionModel, options: { hideNotes: boolean; withholdContent: boolean }): Promise<z.input<typeof reportResponse>> {
    const hiddenNotes = options.hideNotes ? `AND ${hiddenFromClient.sql}` : '';
    const replacements = { sessionId: session.id, startedAt: session.startedAt };
    const counts = await select<{ kind: string; count: number | string }>(
      `SELECT kind, COUNT(*) AS count FROM session_entries WHERE session_id = :sessionId ${hiddenNotes} GROUP BY kind`,
      replacements,
    );
    const emotions = await select<{ emotion: Emotion; count: number | string }>(
      `SELECT emotion, COUNT(*) AS count FROM session_entries WHERE session_id = :sessionId AND kind = 'emotion' GROUP BY emotion ORDER BY COUNT(*) DESC, emotion`,
      replacements,
    );
    const x = sql.hoursBetween(sql.timestampParam('startedAt'), 'at');
    const [stats] = await select<Stats>(
      `SELECT COUNT(*) AS n, AVG(valence) AS mv, AVG(arousal) AS ma,
              SUM(${x}) AS sx, SUM(${x} * ${x}) AS sxx,
              SUM(${x} * valence) AS sxv, SUM(${x} * arousal) AS sxa, SUM(valence) AS sv, SUM(arousal) AS sa
         FROM session_entries WHERE session_id = :sessionId AND kind = 'emotion'`,
      replacements,
    );
    const feedback = await models.SessionFeedback.findOne({ where: { sessionId: session.id } });
    const byKind = Object.fromEntries(counts.map((row) => [row.kind, Number(row.count)]));
    return {
      session: sessionView(session),
      durationSeconds: activeSecondsAt(session, new Date()),
      entries: {
        emotion: byKind.emotion ?? 0,
        note: byKind.note ?? 0,
        transcript: byKind.transcript ?? 0,
        total: Object.values(byKind).reduce((sum, value) => sum + value, 0),
      },
      emotions: emotions.map((row) => ({ emotion: row.emotion, count: Number(row.count) })),
      valence: trendOf(stats, 'mv', 'sxv', 'sv'),
      arousal: trendOf(stats, 'ma', 'sxa', 'sa'),
      feedback: feedback ? (options.withholdContent ? views.feedbackRating(feedback) : await views.feedback(feedback)) : null,
      contentWithheld: options.withholdContent,
    };
  };
}
