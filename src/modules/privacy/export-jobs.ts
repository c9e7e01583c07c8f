import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Op, type Transaction } from 'sequelize';
import { ERASED } from '../../crypto/data-keys.js';
import { signToken, verifyToken } from '../../crypto/signed-token.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import { Background } from '../../infra/background.js';
import type { JobLocks } from '../../infra/job-locks.js';
import { describeError, type Logger } from '../../infra/logger.js';
import type { DataExportModel } from '../../models/data-export.model.js';
import type { Models } from '../../models/index.js';
import type { FilesModule } from '../files/index.js';
import type { SecurityEventsModule } from '../security-events/index.js';

const HOUR_MS = 3_600_000;
/** An archive (and its row) is deleted this long after it was asked for, downloaded or not. */
export const EXPORT_KEPT_MS = 24 * HOUR_MS;
/** A download link works this long (and once). */
export const EXPORT_LINK_S = 300;
const expiredAt = (now: Date) => ({ expiresAt: { [Op.lte]: now } });
/** The queue's cross-instance lock; a holder that crashed lets it go after this long. */
const LOCK = 'data-exports';
const LOCK_TTL_MS = 10 * 60_000;
/** A `running` export older than this was left by an instance that stopped: it is taken again. */
const STALE_MS = 30 * 60_000;

export interface ExportJobsDeps {
  models: Pick<Models, 'DataExport'>;
  locks: JobLocks;
  logger: Logger;
  files: Pick<FilesModule, 'archives'>;
  events: SecurityEventsModule['recorder'];
  publicUrl: string;
  linkKey: Buffer;
  /** The archive of a person's data, as a stream the job encrypts into storage. */
  build: (userId: string, signal: AbortSignal) => Promise<Readable>;
}

const ACTIVE = ['queued', 'running'] as const;

/**
 * Export archives as jobs: asked for by POST, built in-process by whichever instance holds
 * the queue's lock (the one that took the request starts at once; a status read starts a
 * queue nobody is working on), kept encrypted in object storage, downloaded once through a
 * short-lived signed link, deleted after 24 hours.
 */
export function createExportJobs(deps: ExportJobsDeps) {
  const { models, locks, logger, files, events } = deps;
  const background = new Background(logger, 'export job');
  const stopping = new AbortController();
  let working = false;

  function view(row: DataExportModel) {
    const ready = row.status === 'ready';
    const exp = Math.floor(Date.now() / 1000) + EXPORT_LINK_S;
    return {
      id: row.id,
      status: row.status,
      createdAt: row.createdAt.toISOString(),
      startedAt: row.startedAt?.toISOString() ?? null,
      completedAt: row.completedAt?.toISOString() ?? null,
      downloadedAt: row.downloadedAt?.toISOString() ?? null,
      expiresAt: row.expiresAt.toISOString(),
      size: ready ? row.size : null,
      download: ready
        ? { url: `${deps.publicUrl}/api/exports/${row.id}/archive?token=${signToken(deps.linkKey, 'export', { id: row.id, exp })}`, expiresAt: new Date(exp * 1000).toISOString() }
        : null,
    };
  }

  /** Takes the next export to build (queued, or left running by a stopped instance), if any. */
  async function claimNext(): Promise<DataExportModel | undefined> {
    const now = new Date();
    const candidates = await models.DataExport.findAll({
      where: { [Op.or]: [{ status: 'queued' }, { status: 'running', startedAt: { [Op.lt]: new Date(now.getTime() - STALE_MS) } }], expiresAt: { [Op.gt]: now } },
      order: [['createdAt', 'ASC']],
      limit: 5,
    });
    for (const row of candidates) {
      // Conditional on the state read: of two instances, one wins the row.
      const [taken] = await models.DataExport.update({ status: 'running', startedAt: now }, { where: { id: row.id, status: row.status, startedAt: row.startedAt ?? null } });
      if (taken === 1) {
        row.status = 'running';
        row.startedAt = now;
        return row;
      }
    }
    return undefined;
  }

  async function buildOne(row: DataExportModel): Promise<void> {
    const claimed = { id: row.id, status: 'running' as const, startedAt: row.startedAt! };
    try {
      const archive = await files.archives.store(row.userId, row.id, await deps.build(row.userId, stopping.signal));
      const [finished] = await models.DataExport.update(
        { status: 'ready', storageKey: archive.storageKey, sealedKey: archive.sealedKey, size: archive.size, completedAt: new Date() },
        { where: claimed },
      );
      // The account was deleted meanwhile, or another instance took the export over.
      if (finished === 0) files.archives.discard([archive.storageKey]);
      else logger.info('export ready', { exportId: row.id, bytes: archive.size });
    } catch (error) {
      if (stopping.signal.aborted) {
        await models.DataExport.update({ status: 'queued', startedAt: null }, { where: claimed });
        return;
      }
      logger.error('export failed', { exportId: row.id, ...describeError(error) });
      await models.DataExport.update({ status: 'failed', completedAt: new Date() }, { where: claimed });
    }
  }

  async function work(): Promise<void> {
    if (!(await locks.acquire(LOCK, LOCK_TTL_MS))) return; // another instance is working the queue
    let built = 0;
    try {
      for (let row = await claimNext(); row && !stopping.signal.aborted; row = await claimNext()) {
        await buildOne(row);
        built += 1;
      }
    } finally {
      await locks.release(LOCK, { built });
    }
  }

  /** Works the queue in the background unless this instance already does. */
  function kick(): void {
    if (working || stopping.signal.aborted) return;
    working = true;
    background.run(() => work().finally(() => (working = false)));
  }

  async function own(userId: string, id: string): Promise<DataExportModel> {
    const row = await models.DataExport.findOne({ where: { id, userId } });
    if (!row) throw AppError.notFound('export');
    return row;
  }

  const gone = () => new AppError(410, 'EXPORT_GONE', 'Gone', { detail: 'This export was downloaded already, failed or has expired; start a new one.' });

  return {
    kick,

    /** 202 with the new export; 409 while one of the caller's is queued or running. */
    async start(userId: string, meta: RequestMeta) {
      const active = await models.DataExport.findOne({ where: { userId, status: ACTIVE, expiresAt: { [Op.gt]: new Date() } } });
      if (active) {
        throw new AppError(409, 'EXPORT_IN_PROGRESS', 'Conflict', { detail: 'An export of this account is being made; follow it at its Location.', headers: { Location: `/api/users/me/exports/${active.id}` }, extensions: { exportId: active.id } });
      }
      const now = new Date();
      const row = await models.DataExport.create({ id: randomUUID(), userId, status: 'queued', createdAt: now, expiresAt: new Date(now.getTime() + EXPORT_KEPT_MS) });
      events.record({ type: 'data_export_requested', userId, ...meta, metadata: { exportId: row.id } });
      kick();
      return view(row);
    },

    async status(userId: string, id: string) {
      const row = await own(userId, id);
      if (row.status === 'queued') kick();
      return view(row);
    },

    /** The archive's bytes, once: the link's signature, then the single use, then the object goes. */
    async download(id: string, token: string, meta: RequestMeta): Promise<{ headers: Record<string, string>; body: Readable }> {
      const claims = verifyToken<{ id: string; exp: number }>(deps.linkKey, 'export', token);
      if (!claims || claims.id !== id) throw AppError.forbidden('INVALID_SIGNATURE', 'The link is expired or its signature does not match.');
      const row = await models.DataExport.findByPk(id);
      if (!row || row.status !== 'ready' || row.expiresAt <= new Date()) throw gone();
      const body = await files.archives.open({ id: row.id, storageKey: row.storageKey!, sealedKey: row.sealedKey! });
      if (body === ERASED) throw gone();
      const [claimed] = await models.DataExport.update({ status: 'downloaded', downloadedAt: new Date() }, { where: { id, status: 'ready' } });
      if (claimed === 0) {
        body.destroy();
        throw gone();
      }
      events.record({ type: 'data_exported', userId: row.userId, ...meta, metadata: { format: 'archive', exportId: row.id } });
      body.once('close', () => files.archives.discard([row.storageKey!]));
      return {
        body,
        headers: {
          'Content-Type': 'application/zip',
          'Content-Length': String(row.size),
          'Content-Disposition': `attachment; filename="confidant-export-${row.createdAt.toISOString().slice(0, 10)}.zip"`,
          'X-Content-Type-Options': 'nosniff',
          'Content-Security-Policy': "sandbox; default-src 'none'",
          'Cache-Control': 'private, no-store',
        },
      };
    },

    /** Account deletion: the rows go with the user (cascade); returns the objects to discard after commit. */
    async releaseAccount(userId: string, transaction: Transaction): Promise<string[]> {
      const rows = await models.DataExport.findAll({ where: { userId, storageKey: { [Op.ne]: null } }, attributes: ['storageKey'], transaction });
      return rows.map((row) => row.storageKey!);
    },

    /** What `purge(now)` would delete, deleting nothing (the retention report). */
    countExpired: (now: Date) => models.DataExport.count({ where: expiredAt(now) }),

    /** Retention: exports asked for more than 24 hours ago, with their archives. */
    async purge(now: Date): Promise<number> {
      // One still being built goes too: its builder finds the row gone and discards what it made.
      const expired = await models.DataExport.findAll({ where: expiredAt(now), attributes: ['id', 'storageKey'] });
      if (expired.length === 0) return 0;
      const keys = expired.flatMap((row) => (row.storageKey ? [row.storageKey] : []));
      if (keys.length > 0) await files.archives.remove(keys);
      return models.DataExport.destroy({ where: { id: expired.map((row) => row.id) } });
    },

    /** Shutdown: the archive being built stops and goes back to the queue. */
    async stop(): Promise<void> {
      stopping.abort();
      await background.idle();
    },
  };
}

export type ExportJobs = ReturnType<typeof createExportJobs>;
