import { randomBytes } from 'node:crypto';
import { Op } from 'sequelize';
import { linkTokenHash as hashOf } from '../../crypto/link-tokens.js';
import { tableJob, type RetentionJob } from '../../infra/retention.js';
import type { Models } from '../../models/index.js';
import type { OidcFlowModel } from '../../models/oidc-flow.model.js';

/** From the redirect to the provider until the SPA's exchange: a sign-in at a provider takes at most this long. */
export const OIDC_FLOW_TTL_MS = 10 * 60_000;

const secret = () => randomBytes(32).toString('base64url');

export interface NewFlow {
  provider: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  transport: 'cookie' | 'body';
  rememberMe: boolean;
  linkUserId?: string;
}

/** What the callback established: the identity, and the account it signs in to or why it was refused. */
export interface FlowOutcome {
  /** Absent when the provider's answer did not pass its checks. */
  identity?: { issuer: string; subject: string; email: string | null };
  userId?: string;
  refusal?: string;
}

/**
 * The `oidc_flows` table. Each step works once, by a conditional update that exactly one
 * caller wins: the callback (which needs the browser's binding cookie), then the exchange of
 * the one-time code. The cookie value and the code are stored as SHA-256 hashes.
 */
export class OidcFlows {
  /** Flows past their time, finished or not. */
  readonly retentionJob: RetentionJob;

  constructor(private readonly models: Pick<Models, 'OidcFlow'>) {
    this.retentionJob = tableJob('oidcFlows', models.OidcFlow, (now) => ({ expiresAt: { [Op.lt]: now } }));
  }

  /** A new flow and the value of the browser's binding cookie. */
  async open(flow: NewFlow): Promise<{ binding: string }> {
    const binding = secret();
    const now = new Date();
    await this.models.OidcFlow.create({ ...flow, linkUserId: flow.linkUserId ?? null, bindingHash: hashOf(binding), startedAt: now, createdAt: now, expiresAt: new Date(now.getTime() + OIDC_FLOW_TTL_MS) });
    return { binding };
  }

  /** The flow the provider's `state` names, used up for callbacks, if the browser presents its binding cookie. */
  async claimCallback(state: string, provider: string, binding: string | undefined): Promise<OidcFlowModel | undefined> {
    if (!binding) return undefined;
    const live = { state, provider, bindingHash: hashOf(binding), calledBackAt: null, expiresAt: { [Op.gt]: new Date() } };
    const flow = await this.models.OidcFlow.findOne({ where: live });
    if (!flow) return undefined;
    const [claimed] = await this.models.OidcFlow.update({ calledBackAt: new Date() }, { where: { id: flow.id, ...live } });
    return claimed === 1 ? flow : undefined;
  }

  /** Records the outcome and returns the one-time code the SPA exchanges. */
  async settle(flow: OidcFlowModel, outcome: FlowOutcome): Promise<string> {
    const code = secret();
    await this.models.OidcFlow.update(
      {
        exchangeCodeHash: hashOf(code),
        identityIssuer: outcome.identity?.issuer ?? null,
        identitySubject: outcome.identity?.subject ?? null,
        identityEmail: outcome.identity?.email ?? null,
        resultUserId: outcome.userId ?? null,
        refusal: outcome.refusal ?? null,
      },
      { where: { id: flow.id } },
    );
    return code;
  }

  /** The flow of a one-time code, used up; undefined for an unknown, expired or used code. */
  async claimExchange(code: string): Promise<OidcFlowModel | undefined> {
    const live = { exchangeCodeHash: hashOf(code), exchangedAt: null, expiresAt: { [Op.gt]: new Date() } };
    const flow = await this.models.OidcFlow.findOne({ where: live });
    if (!flow) return undefined;
    const [claimed] = await this.models.OidcFlow.update({ exchangedAt: new Date() }, { where: { id: flow.id, ...live } });
    return claimed === 1 ? flow : undefined;
  }
}
