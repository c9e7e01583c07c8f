import type { CounselingSessionModel } from '../../models/counseling-session.model.js';
import { Op, type WhereOptions } from 'sequelize';
import type { Role } from '../../models/user.model.js';

export interface Actor {
  userId: string;
  role: Role;
}

type Participation = 'client' | 'counselor' | 'admin' | 'none';

/** How the actor relates to a session; everything below is decided from this. */
export function participation(session: Pick<CounselingSessionModel, 'userId' | 'counselorId'>, actor: Actor): Participation {
  if (session.userId === actor.userId) return 'client';
  if (session.counselorId !== null && session.counselorId === actor.userId) return 'counselor';
  if (actor.role === 'admin') return 'admin';
  return 'none';
}

/** Who may do what with a session (docs/DESIGN.md §4.3). Non-participants never learn that it exists. */
export const sessionPolicy = {
  view: (p: Participation) => p !== 'none',
  changeState: (p: Participation) => p !== 'none',
  remove: (p: Participation) => p === 'client' || p === 'admin',
  writeEntry: (p: Participation) => p === 'client' || p === 'counselor',
  giveFeedback: (p: Participation) => p === 'client',
};

/**
 * Counselor notes are for the counselor and admins: the client never sees them. The
 * same rule as a Sequelize condition (listing) and as SQL (report aggregates).
 */
export const hiddenFromClient = {
  applies: (p: Participation) => p === 'client',
  where: { [Op.or]: [{ kind: { [Op.ne]: 'note' } }, { authorRole: 'client' }] } as WhereOptions,
  sql: `NOT (kind = 'note' AND author_role <> 'client')`,
};
