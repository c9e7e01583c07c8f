import { composeMail, linkWithToken } from '../../infra/mail-message.js';
import type { OrgRole } from '../../models/membership.model.js';

const ARTICLE: Record<OrgRole, string> = { owner: 'an owner', admin: 'an admin', manager: 'a manager', counselor: 'a counselor', client: 'a client' };

/**
 * The invitation mail: the same text whether or not the address has an account (nobody
 * looks that up before acceptance). Names come from users and are escaped in the HTML part.
 */
export function invitationMail(appUrl: string, to: string, details: { organization: string; inviter: string; role: OrgRole; ttlDays: number }, token: string) {
  return composeMail(
    { email: to },
    'An invitation to a practice on Confidant',
    [
      `${details.inviter} invited you to join ${details.organization} on Confidant as ${ARTICLE[details.role]}.`,
      `To accept, sign in with this email address (or create a Confidant account with it first). The link works once and expires in ${details.ttlDays} days.`,
      'If you did not expect this invitation, ignore this message: nothing happens unless you accept it.',
    ],
    { label: 'Accept the invitation', url: linkWithToken(appUrl, 'accept-invitation', token) },
  );
}
