import { AppError } from '../../errors/app-error.js';
import type { OrgRole } from '../../models/membership.model.js';

const RANK: Record<OrgRole, number> = { owner: 5, admin: 4, manager: 3, counselor: 2, client: 1 };

/** Who runs a practice: they manage its members, invitations and care relationships, and see its aggregates. */
export const STAFF_ROLES = ['owner', 'admin', 'manager'] as const satisfies readonly OrgRole[];
/** Who administers it: its settings and its security events. */
export const ADMIN_ROLES = ['owner', 'admin'] as const satisfies readonly OrgRole[];

export const isStaff = (role: OrgRole | null): boolean => role !== null && (STAFF_ROLES as readonly OrgRole[]).includes(role);
export const atMost = (role: OrgRole, ceiling: OrgRole): boolean => RANK[role] <= RANK[ceiling];

const ceilingError = (detail: string) => AppError.forbidden('ORG_ROLE_CEILING', detail);

/**
 * The ceiling of every member operation: nobody acts on a member whose role is above their
 * own, and nobody grants a role above their own (equal is allowed: two admins may demote
 * each other, one of them first).
 */
export function assertWithinCeiling(actor: OrgRole, change: { target?: OrgRole; grants?: OrgRole }): void {
  if (change.target && !atMost(change.target, actor)) throw ceilingError(`A ${actor} cannot act on a member whose role is ${change.target}.`);
  if (change.grants && !atMost(change.grants, actor)) throw ceilingError(`A ${actor} cannot grant the role ${change.grants}.`);
}

/** The last owner can be neither removed nor demoted: every organization keeps someone who can run it. */
export function assertKeepsAnOwner(target: OrgRole, owners: number, next: OrgRole | null): void {
  if (target === 'owner' && next !== 'owner' && owners <= 1) {
    throw AppError.conflict('LAST_OWNER', 'The last owner of an organization can be neither removed nor demoted; make another member owner first.');
  }
}
