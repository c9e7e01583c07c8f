import { Op, type Sequelize } from 'sequelize';
import { AppError } from '../../errors/app-error.js';
import type { Actor } from '../../http/route.js';
import type { Models } from '../../models/index.js';
import type { StoredFileModel } from '../../models/stored-file.model.js';
import type { OrganizationsModule } from '../organizations/index.js';
import { imageExtension, sniff, SNIFF_BYTES } from './content-types.js';
import { isIssuedKeyFormat, keyPrefixes, newStorageKey } from './file-keys.js';
import { fileView, fromStorage } from './file-views.js';
import type { PresignInput } from './files.schemas.js';
import type { ObjectStorage } from './storage/port.js';

/** A presigned upload may be used for this long (the policy's expiry). */
export const UPLOAD_WINDOW_S = 300;
/** A pending upload never registered is swept after this long. */
export const PENDING_TTL_MS = 24 * 3_600_000;

export interface ImagesDeps {
  sequelize: Sequelize;
  models: Pick<Models, 'StoredFile'>;
  storage: ObjectStorage;
  limits: { imageMaxBytes: number; quotaBytes: number };
  organizations: Pick<OrganizationsModule, 'requireStaff'>;
  usedBy: (userId: string) => Promise<number>;
  /** The profile's avatarUrl follows the registered avatar. */
  setAvatarUrl: (userId: string, fileId: string) => Promise<void>;
  /** And the organization's logoUrl its logo. */
  setLogoUrl: (organizationId: string, fileId: string) => Promise<void>;
  /** Called after commit with keys no longer referenced (a replaced avatar): deleted, else swept. */
  discard: (keys: string[]) => void;
}

const notIssued = () =>
  AppError.notFound('upload'); // the same answer for a malformed, foreign, unknown or used key: nothing to learn

/**
 * Avatars and organization logos: the client uploads straight to storage through a
 * presigned POST whose policy fixes key, type and size; the server then checks the stored
 * bytes before the image is used.
 */
export function createImagesService(deps: ImagesDeps) {
  const { models, storage } = deps;

  /** Who may set the image: the caller's own avatar; a logo, a platform admin or the organization's owner, admin or manager. */
  async function ownerOf(actor: Actor, input: Pick<PresignInput, 'target' | 'organizationId'>) {
    if (input.target === 'avatar') return { prefix: keyPrefixes.avatar(actor.userId), organizationId: null };
    if (!input.organizationId) throw AppError.badRequest('ORGANIZATION_REQUIRED', 'An orgLogo upload names its organizationId.');
    try {
      await deps.organizations.requireStaff(actor, input.organizationId);
    } catch (error) {
      // A foreign organization and a role without the right answer alike.
      if (error instanceof AppError && (error.status === 404 || error.status === 403)) {
        throw AppError.forbidden('FORBIDDEN_ORG_ROLE', 'A logo is set by a platform admin or an owner, admin or manager of that organization.');
      }
      throw error;
    }
    return { prefix: keyPrefixes.orgLogo(input.organizationId), organizationId: input.organizationId };
  }

  /** The images this one replaces: the same person's avatar, the same organization's logo. */
  function replacedBy(file: StoredFileModel) {
    const where =
      file.purpose === 'avatar'
        ? { purpose: 'avatar', uploadedBy: file.uploadedBy, status: 'ready', id: { [Op.ne]: file.id } }
        : { purpose: 'orgLogo', organizationId: file.organizationId, status: 'ready', id: { [Op.ne]: file.id } };
    return where;
  }

  return {
    async presign(actor: Actor, input: PresignInput) {
      const extension = imageExtension(input.contentType);
      if (!extension) throw new AppError(415, 'UNSUPPORTED_FILE_TYPE', 'Unsupported file type', { detail: 'Avatars and logos are PNG, JPEG, WebP or GIF (never SVG).' });
      if (input.size > deps.limits.imageMaxBytes) {
        throw new AppError(413, 'FILE_TOO_LARGE', 'File too large', { detail: `An image may be at most ${Math.round(deps.limits.imageMaxBytes / 1024)} KB.` });
      }
      const { prefix, organizationId } = await ownerOf(actor, input);
      if ((await deps.usedBy(actor.userId)) + input.size > deps.limits.quotaBytes) {
        throw new AppError(413, 'FILE_QUOTA_EXCEEDED', 'Storage quota exceeded', { detail: 'Your files would exceed your storage quota; delete some first.' });
      }
      const { id, key } = newStorageKey(prefix, extension);
      const post = await fromStorage(() => storage.presignPost(key, { contentType: input.contentType, maxBytes: input.size, expiresS: UPLOAD_WINDOW_S }));
      await models.StoredFile.create({
        id,
        purpose: input.target,
        status: 'pending',
        storageKey: key,
        uploadedBy: actor.userId,
        organizationId,
        sessionId: null,
        contentType: input.contentType,
        size: input.size,
        filename: null,
        wrappedKey: null,
        expiresAt: new Date(Date.now() + PENDING_TTL_MS),
      });
      return { fileId: id, storageKey: key, upload: { method: 'POST' as const, ...post }, expiresIn: UPLOAD_WINDOW_S };
    },

    /**
     * Only a key in the issued format, issued to this caller and not yet registered; the stored
     * object's size and bytes are checked, and only then does the image replace the old one.
     */
    async register(actor: Actor, storageKey: string) {
      if (!isIssuedKeyFormat(storageKey)) throw notIssued();
      const file = await models.StoredFile.findOne({ where: { storageKey, uploadedBy: actor.userId, status: 'pending' } });
      if (!file || file.purpose === 'attachment') throw notIssued();
      const info = await fromStorage(() => storage.head(storageKey));
      if (!info) throw AppError.conflict('UPLOAD_MISSING', 'Nothing was uploaded under this key yet: send the presigned POST first.');
      const refuse = async (code: string, detail: string) => {
        await fromStorage(() => storage.delete([storageKey]));
        await file.destroy();
        throw new AppError(422, code, 'Upload refused', { detail });
      };
      if (info.size === 0 || info.size > file.size) await refuse('UPLOAD_SIZE_MISMATCH', 'The stored object is larger than the size declared at presign.');
      if (info.contentType !== undefined && info.contentType !== file.contentType) await refuse('CONTENT_TYPE_MISMATCH', 'The stored object’s type is not the one declared at presign.');
      const detected = await sniff(await fromStorage(() => storage.readStart(storageKey, SNIFF_BYTES)));
      if (detected !== file.contentType) await refuse('CONTENT_TYPE_MISMATCH', 'The uploaded bytes are not the image type declared at presign.');

      const replaced = await deps.sequelize.transaction(async (transaction) => {
        const [claimed] = await models.StoredFile.update({ status: 'ready', size: info.size, expiresAt: null }, { where: { id: file.id, status: 'pending' }, transaction });
        if (claimed === 0) throw notIssued(); // registered meanwhile by a concurrent call
        const old = await models.StoredFile.findAll({ where: replacedBy(file), transaction });
        if (old.length > 0) await models.StoredFile.destroy({ where: { id: old.map((row) => row.id) }, transaction });
        return old.map((row) => row.storageKey);
      });
      if (replaced.length > 0) deps.discard(replaced);
      if (file.purpose === 'avatar') await deps.setAvatarUrl(actor.userId, file.id);
      else await deps.setLogoUrl(file.organizationId!, file.id);
      await file.reload();
      return fileView(file, null);
    },
  };
}

export type ImagesService = ReturnType<typeof createImagesService>;
