import type { ConsentDocument, ConsentDocumentName } from '../../config/env.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestMeta } from '../../http/request-meta.js';
import type { InvalidatedCache } from '../../infra/invalidated-cache.js';
import type { Models } from '../../models/index.js';
import type { ConsentAction } from '../../models/consent-record.model.js';
import type { SecurityEventRecorder } from '../security-events/index.js';
import type { ConsentInput } from './consent.schemas.js';

/** A person's latest record per document: what the gate and the write check read. */
export type ConsentState = Partial<Record<ConsentDocumentName, { version: string; action: ConsentAction; at: Date }>>;

export interface ConsentDeps {
  documents: ConsentDocument[];
  models: Pick<Models, 'ConsentRecord'>;
  cache: InvalidatedCache<ConsentState>;
  events: SecurityEventRecorder;
}

/** The documents whose current version the person has not accepted. A withdrawn consent to process health data is a choice, not a gap: it stops new content instead (409). */
function outstandingOf(documents: ConsentDocument[], state: ConsentState): ConsentDocument[] {
  return documents.filter(({ document, version }) => {
    const latest = state[document];
    if (document === 'health_data_processing' && latest?.action === 'withdrawn') return false;
    return latest?.action !== 'given' || latest.version !== version;
  });
}

const listed = (documents: ConsentDocument[]) => documents.map(({ document, version }) => `${document} ${version}`).join(', ');

/**
 * Consent as a record: every acceptance and withdrawal of a configured document's version
 * is a row (`consent_records`) and a security event. The per-request checks read a cached
 * summary of the person's latest rows, which every write here invalidates on every instance.
 */
export function createConsentService(deps: ConsentDeps) {
  const { documents, models, cache, events } = deps;
  const configured = (document: ConsentDocumentName) => documents.find((candidate) => candidate.document === document);

  const records = (userId: string) => models.ConsentRecord.findAll({ where: { userId }, order: [['id', 'ASC']] });
  const load = async (userId: string) => latestOf(await records(userId));
  const stateOf = (userId: string): Promise<ConsentState> => (documents.length === 0 ? Promise.resolve({}) : cache.get(userId, () => load(userId)));

  async function record(userId: string, document: ConsentDocumentName, version: string, action: ConsentAction, meta: RequestMeta | undefined): Promise<void> {
    await models.ConsentRecord.create({ userId, document, version, action });
    await cache.changed(userId);
    events.record({ type: action === 'given' ? 'consent_given' : 'consent_withdrawn', userId, ...meta, metadata: { document, version } });
  }

  /** Each accepted version must be the current one of a configured document. */
  function assertAcceptable(accepted: ConsentInput[]): void {
    for (const { document, version } of accepted) {
      const current = configured(document);
      if (!current) throw new AppError(422, 'UNKNOWN_DOCUMENT', 'Unprocessable content', { detail: `No ${document} document is in force here.` });
      if (current.version !== version) {
        throw new AppError(409, 'CONSENT_VERSION_NOT_CURRENT', 'Conflict', { detail: `The current version of ${document} is ${current.version}.`, extensions: { currentVersion: current.version } });
      }
    }
  }

  /** Records the accepted versions (checked as by assertAcceptable); what already stands adds no record. */
  async function give(userId: string, accepted: ConsentInput[], meta?: RequestMeta): Promise<void> {
    assertAcceptable(accepted);
    const state = await load(userId);
    for (const { document, version } of accepted) {
      const latest = state[document];
      if (latest?.action === 'given' && latest.version === version) continue;
      await record(userId, document, version, 'given', meta);
      state[document] = { version, action: 'given', at: new Date() };
    }
  }

  return {
    /** Registration, before the account is made: what is accepted is in force, and covers everything in force. */
    assertCoversCurrent(accepted: ConsentInput[]): void {
      const missing = documents.filter(({ document, version }) => !accepted.some((given) => given.document === document && given.version === version));
      if (missing.length > 0) {
        throw new AppError(422, 'CONSENT_REQUIRED', 'Unprocessable content', {
          detail: `Accept the current versions of: ${listed(missing)}.`,
          extensions: { documents: missing },
        });
      }
      assertAcceptable(accepted); // nothing beyond what is in force
    },

    give,

    async withdraw(userId: string, document: ConsentDocumentName, meta: RequestMeta): Promise<void> {
      if (!configured(document)) throw AppError.notFound('document');
      const latest = (await load(userId))[document];
      if (latest?.action === 'given') await record(userId, document, latest.version, 'withdrawn', meta);
    },

    async view(userId: string) {
      const rows = await records(userId);
      const state = latestOf(rows);
      return {
        documents: documents.map(({ document, version }) => {
          const latest = state[document];
          const standing: 'none' | 'withdrawn' | 'given' | 'outdated' = !latest ? 'none' : latest.action === 'withdrawn' ? 'withdrawn' : latest.version === version ? 'given' : 'outdated';
          return { document, currentVersion: version, state: standing, acceptedVersion: latest?.action === 'given' ? latest.version : null, at: latest?.at.toISOString() ?? null };
        }),
        outstanding: outstandingOf(documents, state),
        history: rows.map(historyRow),
      };
    },

    /** The gate before every authenticated route that does not declare `withoutConsent`. */
    async requireCurrent(userId: string): Promise<void> {
      if (documents.length === 0) return;
      const missing = outstandingOf(documents, await stateOf(userId));
      if (missing.length > 0) {
        throw new AppError(403, 'CONSENT_REQUIRED', 'Forbidden', {
          detail: `Accept the current versions of: ${listed(missing)} (POST /api/users/me/consents).`,
          extensions: { documents: missing },
        });
      }
    },

    /** Before storing counseling content about a person: their explicit consent to process health data stands. */
    async requireHealthDataConsent(userId: string): Promise<void> {
      if (!configured('health_data_processing')) return;
      if ((await stateOf(userId)).health_data_processing?.action === 'given') return;
      throw AppError.conflict('HEALTH_DATA_CONSENT_WITHDRAWN', 'The client has not given (or has withdrawn) consent to process health data: nothing new can be stored about them.');
    },

    /** For the GDPR export. */
    history: async (userId: string) => (await records(userId)).map(historyRow),
  };
}

type RecordRow = { document: ConsentDocumentName; version: string; action: ConsentAction; createdAt: Date };

function latestOf(rows: RecordRow[]): ConsentState {
  const state: ConsentState = {};
  for (const row of rows) state[row.document] = { version: row.version, action: row.action, at: row.createdAt };
  return state;
}

function historyRow(row: RecordRow) {
  return { document: row.document, version: row.version, action: row.action, at: row.createdAt.toISOString() };
}

export type ConsentService = ReturnType<typeof createConsentService>;
