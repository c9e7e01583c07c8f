import type { Infra } from '../../context.js';
import { deriveKey } from '../../crypto/secret-box.js';
import type { OrganizationsModule } from '../organizations/index.js';
import type { SessionsModule } from '../sessions/index.js';
import type { UsersModule } from '../users/index.js';
import { createAttachmentsService } from './attachments.service.js';
import { createFileData } from './file-data.js';
import { attachmentRoutes, filesRoutes } from './files.routes.js';
import { createFilesService } from './files.service.js';
import { createImagesService } from './images.service.js';
import { createSealedArchives } from './sealed-archives.js';
import { LocalStorage } from './storage/local.js';
import type { ObjectStorage } from './storage/port.js';
import { S3Storage } from './storage/s3.js';

export { fileResponse } from './files.schemas.js';
export { migrateAttachmentsToPersonKeys } from './file-data.js';
export type { SealedArchive } from './sealed-archives.js';
export type { ObjectStorage } from './storage/port.js';

/** The adapter the configuration names: S3-compatible object storage, or a directory under DATA_DIR. */
export function createStorage(config: Infra['config']): ObjectStorage {
  if (config.storage.driver === 's3') return new S3Storage(config.storage.s3);
  return new LocalStorage(config.storage.localDir, deriveKey(config.secrets.authSecret, 'local-storage-signing'), config.publicUrl);
}

/**
 * Files (`stored_files`): avatars and organization logos by presigned POST, counseling
 * attachments through the API, encrypted before storage (their keys and names under the data
 * key of the session's client), read on the sessions module's need-to-know terms.
 * `deps.storage` replaces the configured adapter (tests).
 */
export function createFilesModule(
  infra: Pick<Infra, 'sequelize' | 'models' | 'content' | 'config' | 'logger'>,
  deps: {
    sessions: Pick<SessionsModule, 'attachmentAccess'>;
    organizations: Pick<OrganizationsModule, 'requireStaff' | 'setLogoUrl'>;
    users: Pick<UsersModule, 'accounts'>;
    storage?: ObjectStorage;
  },
) {
  const { sequelize, models, content, config } = infra;
  const storage = deps.storage ?? createStorage(config);
  const data = createFileData({ models, content, storage, logger: infra.logger });
  /** The profile's avatarUrl and the organization's logoUrl: the API address of the file (GET it for a signed URL). */
  const avatarUrl = (fileId: string) => `${config.publicUrl}/api/files/${fileId}`;
  const { accounts } = deps.users;
  const files = createFilesService({
    models, content, storage, sessions: deps.sessions, discard: data.discard,
    clearAvatarUrl: (userId, fileId) => accounts.setAvatarUrl(userId, null, { replacing: avatarUrl(fileId) }),
    clearLogoUrl: (organizationId, fileId) => deps.organizations.setLogoUrl(organizationId, null, { replacing: avatarUrl(fileId) }),
  });
  const images = createImagesService({
    sequelize, models, storage, limits: config.files, organizations: deps.organizations, usedBy: data.usedBy, discard: data.discard,
    setAvatarUrl: (userId, fileId) => accounts.setAvatarUrl(userId, avatarUrl(fileId)),
    setLogoUrl: (organizationId, fileId) => deps.organizations.setLogoUrl(organizationId, avatarUrl(fileId)),
  });
  const attachments = createAttachmentsService({ sequelize, models, content, storage, limits: config.files, sessions: deps.sessions, usedBy: data.usedBy });
  return {
    routes: filesRoutes({ files, images, storage, imageMaxBytes: config.files.imageMaxBytes }),
    attachmentRoutes: attachmentRoutes(attachments),
    storage,
    /** For readiness: the bucket (or directory) answers. */
    ping: () => storage.ping(config.database.readyTimeoutMs),
    /** The GDPR export, account deletion, and the retention of sessions' data (rows in the caller's transaction, objects discarded after it). */
    data: {
      exportFor: data.exportFor,
      openForExport: files.openForExport,
      releaseAccount: data.releaseAccount,
      attachmentsOf: data.attachmentsOf,
      releaseSessions: data.releaseSessions,
      discard: data.discard,
    },
    /** Encrypted archives of another module's making (the export archive), kept until it discards them. */
    archives: createSealedArchives({ storage, content: infra.content, discard: data.discard }),
    retentionJobs: {
      'purge-pending-uploads': data.pendingJob,
      'purge-orphaned-files': data.orphansJob,
    },
  };
}

export type FilesModule = ReturnType<typeof createFilesModule>;
