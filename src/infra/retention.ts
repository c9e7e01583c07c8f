import { col, fn, type Attributes, type Model, type ModelStatic, type WhereOptions } from 'sequelize';

const DAY_MS = 86_400_000;

/** Rows by kind (`{ entries: 12, attachments: 2 }`): what one run removed, or would remove. */
export type RetentionTally = Record<string, number>;

/** Where a job's retention depends on the organization: what would go of its sessions' data. */
export interface OrganizationForecast {
  /** null: sessions in no organization. */
  organizationId: string | null;
  /** The retention that applies: the organization's override, or the platform's. */
  retentionDays: number;
  /** Ended sessions that would lose data. */
  sessions: number;
  removes: RetentionTally;
}

/** What a run at a given time would remove: counts only, never what the rows say. */
export interface RetentionForecast {
  removes: RetentionTally;
  byOrganization?: OrganizationForecast[];
}

/**
 * A data-lifecycle job (docs/DESIGN.md §7.4). `count` and `run` take the same `now` and decide
 * what is past its date the same way, so the retention report (`npm run retention:report`)
 * says what the next run deletes. A second run removes nothing more.
 */
export interface RetentionJob {
  /** Reads only. */
  count(now: Date): Promise<RetentionForecast>;
  run(now: Date): Promise<RetentionTally>;
}

/** The moment before which a thing kept `days` days is past its retention at `now`. */
export function retentionCutoff(now: Date, days: number): Date {
  return new Date(now.getTime() - days * DAY_MS);
}

export const tallyTotal = (tally: RetentionTally): number => Object.values(tally).reduce((sum, count) => sum + count, 0);

/** A job over one table: the rows `where(now)` names are what it counts and what it deletes. */
export function tableJob<M extends Model>(kind: string, model: ModelStatic<M>, where: (now: Date) => WhereOptions<Attributes<M>>): RetentionJob {
  return {
    count: async (now) => ({ removes: { [kind]: await model.count({ where: where(now) }) } }),
    run: async (now) => ({ [kind]: await model.destroy({ where: where(now) }) }),
  };
}

/** Ids a retention job handles at once: one IN list, one transaction. */
const BATCH = 500;

export function* batchesOf<T>(items: T[], size = BATCH): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** How many rows each value of `column` has among those `where` names (values without rows are absent). */
export async function countPer<M extends Model>(model: ModelStatic<M>, column: keyof Attributes<M> & string, where: WhereOptions<Attributes<M>>): Promise<Map<string, number>> {
  const rows = (await model.findAll({ where, attributes: [column, [fn('COUNT', col('id')), 'count']], group: [column], raw: true })) as unknown as Record<string, string | number>[];
  return new Map(rows.map((row) => [String(row[column]), Number(row.count)]));
}
