export type Phase = 'starting' | 'ready' | 'stopping';

/**
 * Where the process is in its life: readiness is false until the database answered and
 * (in development) migrations ran, and again from the moment shutdown begins.
 */
export class Lifecycle {
  /** Migrations the database lacks while a production start waits for `npm run db:migrate`. */
  pendingMigrations: string[] = [];

  constructor(public phase: Phase = 'starting') {}

  get accepting(): boolean {
    return this.phase === 'ready';
  }
}
