import type { Infra } from '../../context.js';
import { deriveKey } from '../../crypto/secret-box.js';
import type { RetentionJob } from '../../infra/retention.js';
import type { FilesModule } from '../files/index.js';
import { exportArchive } from './export-archive.js';
import { exportDocument, type ExportSources } from './export-document.js';
import { createExportJobs } from './export-jobs.js';
import { exportDownloadRoutes, privacyRoutes } from './privacy.routes.js';
import { createPrivacyService, type PrivacyServiceDeps } from './privacy.service.js';
import { sessionDataRetention, type SessionDataRetentionDeps } from './session-data-retention.js';

export { EXPORT_FORMAT_VERSION } from './export-document.js';

export type PrivacyDeps = ExportSources &
  Omit<PrivacyServiceDeps, 'documentFor' | 'exports' | 'files'> &
  Omit<SessionDataRetentionDeps, 'files'> & {
    files: Pick<FilesModule, 'data' | 'archives'>;
  };

/**
 * The data rights of a person (access, portability, erasure), and the retention of sessions'
 * data, which spans the sessions and files modules. Owns `data_exports`: the export archives
 * waiting for their download. Mounted under `/api/users` (and `/api/exports`, the download links).
 */
export function createPrivacyModule(infra: Pick<Infra, 'models' | 'locks' | 'logger' | 'config'>, deps: PrivacyDeps) {
  const documentFor = exportDocument(deps);
  const openFile = async (fileId: string) => (await deps.files.data.openForExport(fileId))?.body;
  const exports = createExportJobs({
    models: infra.models,
    locks: infra.locks,
    logger: infra.logger,
    files: deps.files,
    events: deps.securityEvents.recorder,
    publicUrl: infra.config.publicUrl,
    linkKey: deriveKey(infra.config.secrets.authSecret, 'export-links'),
    build: async (userId, signal) => exportArchive(await documentFor(userId), openFile, signal),
  });
  const service = createPrivacyService({ ...deps, documentFor, exports });
  return {
    routes: privacyRoutes(service, exports),
    downloadRoutes: exportDownloadRoutes(exports),
    /** Starts the queue again (an instance that stopped mid-archive left it), and stops it on shutdown. */
    exports: { kick: exports.kick, stop: exports.stop },
    retentionJobs: {
      'purge-session-data': sessionDataRetention(deps),
      'purge-data-exports': {
        count: async (now: Date) => ({ removes: { dataExports: await exports.countExpired(now) } }),
        run: async (now: Date) => ({ dataExports: await exports.purge(now) }),
      },
    } satisfies Record<string, RetentionJob>,
  };
}
