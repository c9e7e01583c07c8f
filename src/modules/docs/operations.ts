/**
 * The prose of the OpenAPI document, one entry per route ("METHOD /path" in Express form).
 * Schemas and access come from the routes themselves; a route without an entry here fails
 * the documentation test.
 */
export interface OperationDoc {
  summary: string;
  tag: string;
  /** Success status and what it returns. */
  success: [status: number, description: string];
  description?: string;
}

export const OPERATIONS: Record<string, OperationDoc> = {
  'GET /': { tag: 'Health', summary: 'API index', success: [200, 'Name, version and links'] },
  'GET /health': { tag: 'Health', summary: 'Liveness', success: [200, '{ status, uptime, version, commit }; never touches the database'] },
  'GET /health/ready': { tag: 'Health', summary: 'Readiness', success: [200, 'Per-check status; 503 problem when a dependency is down'] },
  'GET /.well-known/jwks.json': { tag: 'Auth', summary: 'Public signing keys (JWKS)', success: [200, 'EdDSA public keys'] },
  'GET /api/openapi.json': { tag: 'Docs', summary: 'This OpenAPI 3.1 document', success: [200, 'The document'] },
  'GET /api/docs': { tag: 'Docs', summary: 'Interactive API documentation', success: [200, 'An HTML page'] },
  'GET /api/docs/init.js': { tag: 'Docs', summary: 'Script of the documentation page', success: [200, 'JavaScript'] },

  'POST /api/auth/register': { tag: 'Auth', summary: 'Register', success: [202, 'Generic answer, whether or not the email exists'], description: 'Sends a verification email (or, for an existing address, a notice to its owner).' },
  'POST /api/auth/login': { tag: 'Auth', summary: 'Sign in', success: [200, 'Access token, user and session; the refresh token in a cookie or the body'] },
  'POST /api/auth/refresh': { tag: 'Auth', summary: 'Rotate the refresh token', success: [200, 'A new access token and refresh token'], description: 'Cookie transport requires X-CSRF-Token and an allowlisted Origin.' },
  'POST /api/auth/logout': { tag: 'Auth', summary: 'End the current session', success: [204, 'Ended'] },
  'POST /api/auth/logout-all': { tag: 'Auth', summary: 'End every session of the caller', success: [200, 'How many sessions ended'] },
  'GET /api/auth/me': { tag: 'Auth', summary: 'The caller', success: [200, 'The user'] },
  'GET /api/auth/sessions': { tag: 'Auth', summary: 'The caller’s login sessions', success: [200, 'Sessions with a current flag'] },
  'DELETE /api/auth/sessions/:id': { tag: 'Auth', summary: 'Revoke one login session', success: [204, 'Revoked'] },
  'GET /api/auth/csrf': { tag: 'Auth', summary: 'CSRF token for cookie-based refresh', success: [200, '{ csrfToken }'] },
  'POST /api/auth/verify-email': { tag: 'Account recovery', summary: 'Verify an email address', success: [200, 'Verified'] },
  'POST /api/auth/resend-verification': { tag: 'Account recovery', summary: 'Send the verification email again', success: [202, 'Generic answer'] },
  'POST /api/auth/forgot-password': { tag: 'Account recovery', summary: 'Request a password reset', success: [202, 'Generic answer, whether or not the email exists'] },
  'POST /api/auth/reset-password': { tag: 'Account recovery', summary: 'Reset the password with the emailed token', success: [200, 'Changed; every session ended'] },
  'POST /api/auth/change-password': { tag: 'Account recovery', summary: 'Change the password', success: [200, 'Changed; other sessions ended'] },

  'POST /api/sessions': { tag: 'Counseling sessions', summary: 'Start a session', success: [201, 'The session'], description: 'Send an Idempotency-Key header to make retries safe for 24 h.' },
  'GET /api/sessions': { tag: 'Counseling sessions', summary: 'List sessions', success: [200, '{ items, nextCursor }'] },
  'GET /api/sessions/:id': { tag: 'Counseling sessions', summary: 'Get a session', success: [200, 'The session'] },
  'DELETE /api/sessions/:id': { tag: 'Counseling sessions', summary: 'Delete a session (client or admin)', success: [204, 'Deleted'] },
  'POST /api/sessions/:id/pause': { tag: 'Counseling sessions', summary: 'Pause', success: [200, 'The session'] },
  'POST /api/sessions/:id/resume': { tag: 'Counseling sessions', summary: 'Resume', success: [200, 'The session'] },
  'POST /api/sessions/:id/end': { tag: 'Counseling sessions', summary: 'End', success: [200, 'The session'] },
  'POST /api/sessions/:id/entries': { tag: 'Counseling sessions', summary: 'Add a timeline entry', success: [201, 'The entry'] },
  'GET /api/sessions/:id/entries': { tag: 'Counseling sessions', summary: 'List timeline entries', success: [200, '{ items, nextCursor }'] },
  'POST /api/sessions/:id/feedback': { tag: 'Counseling sessions', summary: 'Rate an ended session (client, once)', success: [201, 'The feedback'] },
  'GET /api/sessions/:id/report': { tag: 'Counseling sessions', summary: 'Session report', success: [200, 'Duration, counts, emotions, valence and arousal trends, feedback'] },

  'GET /api/dashboard/summary': { tag: 'Dashboard', summary: 'Progress summary', success: [200, 'Numbers for the caller’s role'] },

  'GET /api/users/me': { tag: 'Users', summary: 'Profile', success: [200, 'The profile'] },
  'PATCH /api/users/me': { tag: 'Users', summary: 'Update the profile', success: [200, 'The profile'] },
  'GET /api/users/me/preferences': { tag: 'Users', summary: 'Preferences', success: [200, 'The preferences'] },
  'PUT /api/users/me/preferences': { tag: 'Users', summary: 'Replace the preferences', success: [200, 'The preferences'] },
  'GET /api/users/me/security-events': { tag: 'Users', summary: 'The caller’s security events', success: [200, '{ items }'] },
  'GET /api/users/me/export': { tag: 'Users', summary: 'Export everything stored about the caller (GDPR)', success: [200, 'One JSON document'] },
  'DELETE /api/users/me': { tag: 'Users', summary: 'Delete the account (password required)', success: [204, 'Deleted'] },

  'GET /api/admin/users': { tag: 'Admin', summary: 'List users', success: [200, '{ items, nextCursor }'] },
  'PATCH /api/admin/users/:id': { tag: 'Admin', summary: 'Change a user’s role or disable them', success: [200, 'The user'] },
  'GET /api/admin/security-events': { tag: 'Admin', summary: 'Search security events', success: [200, '{ items }'] },
  'GET /api/admin/security-events/suspicious': { tag: 'Admin', summary: 'Addresses with more than 5 failed logins in the last hour', success: [200, '{ items }'] },
  'GET /api/errors/stats': { tag: 'Monitoring', summary: 'Error counters and the last 100 errors', success: [200, 'Counters and recent errors'] },
};
