import type { CounselingSessionModel } from '../../models/counseling-session.model.js';
import { Op, type WhereOptions } from 'sequelize';
import type { Role } from '../../models/user.model.js';

export interface Actor {
  userId: string;
  role: Role;
}

/**
 * How the actor relates to a session; everything below is decided from this. `counselor`
 * is the session's counselor, a counselor account, while their care relationship with the
 * client is active;
 * `staff` an owner, admin or manager of the session's organization; `admin` a platform admin.
 */
export type Participation = 'client' | 'counselor' | 'staff' | 'admin' | 'none';

/** What the caller's relation rests on, looked up only when the cheaper answers did not settle it. */
export interface RelationFacts {
  activeCare: () => Promise<boolean>;
  staffOfOrganization: () => Promise<boolean>;
}

export async function participation(session: Pick<CounselingSessionModel, 'userId' | 'counselorId' | 'organizationId'>, actor: Actor, facts: RelationFacts): Promise<Participation> {
  if (session.userId === actor.userId) return 'client';
  const inOrganization = session.organizationId !== null;
  // Counseling needs a counselor account too: a demoted account's relationships open nothing.
  if (inOrganization && actor.role === 'counselor' && session.counselorId === actor.userId && (await facts.activeCare())) return 'counselor';
  if (actor.role === 'admin') return 'admin';
  if (inOrganization && (await facts.staffOfOrganization())) return 'staff';
  return 'none';
}

/**
 * Who may do what with a session (docs/DESIGN.md §4.3). Non-participants never learn that it
 * exists. Content (entry text, counselor notes, feedback comments) is need-to-know: the
 * client and their counselor; a platform admin only through break-glass; an organization's
 * staff never. Staff and admins see metadata and aggregates.
 */
export const sessionPolicy = {
  view: (p: Participation) => p !== 'none',
  readContent: (p: Participation, breakGlass: boolean) => p === 'client' || p === 'counselor' || (p === 'admin' && breakGlass),
  changeState: (p: Participation) => p === 'client' || p === 'counselor' || p === 'admin',
  remove: (p: Participation) => p === 'client' || p === 'admin',
  writeEntry: (p: Participation) => p === 'client' || p === 'counselor',
  giveFeedback: (p: Participation) => p === 'client',
};

/**
 * Counselor notes are for the counselor: the client never sees them. The same rule as a
 * Sequelize condition (listing) and as SQL (report aggregates).
 */
export const hiddenFromClient = {
  applies: (p: Participation) => p === 'client',
  where: { [Op.or]: [{ kind: { [Op.ne]: 'note' } }, { authorRole: 'client' }] } as WhereOptions,
  sql: `NOT (kind = 'note' AND author_role <> 'client')`,
};
