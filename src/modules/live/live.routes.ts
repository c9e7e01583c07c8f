import { AppError } from '../../errors/app-error.js';
import { route, type RouteDefinition } from '../../http/route.js';

const DESCRIPTION = [
  'A WebSocket endpoint (same port). A plain GET is answered 426. The upgrade is refused with 403 when an Origin header is sent that CORS_ORIGINS does not allow, and with 429 when the address holds too many sockets.',
  'No token in the URL: the first message must be {"type":"auth","token":"<access token>"} within 5 s (else close 4401); the server answers {"type":"ready"}.',
  'Then {"type":"subscribe","sessionId"} follows a counseling session (as GET /api/sessions/:id allows), {"type":"entry","sessionId","ref?","entry":{...}} writes an entry (as POST /api/sessions/:id/entries), {"type":"unsubscribe","sessionId"}.',
  'Server frames: ready, subscribed, unsubscribed, entry.accepted, entry.created, session.state, presence, error, reconnect.',
  'Close codes: 1001 shutdown (reconnect), 1003 binary frame, 1007 not JSON, 1009 frame over 16 KiB, 4401 not or no longer authenticated, 4403 access to a followed session changed, 4429 flood or too many sockets of the account.',
].join(' ');

/** `GET /api/live`: the channel itself is served by the upgrade listener; this declaration documents it and answers plain GETs. */
export function liveRoutes(): RouteDefinition[] {
  return [
    route(
      {
        method: 'GET', path: '/', access: 'public', summary: 'Live session channel (WebSocket)', description: DESCRIPTION,
        headers: [{ name: 'Upgrade', description: 'websocket (with Connection: Upgrade, Sec-WebSocket-Key and Sec-WebSocket-Version: 13)' }],
        response: { status: 101, description: 'Switching Protocols: the WebSocket channel' },
      },
      () => {
        throw new AppError(426, 'UPGRADE_REQUIRED', 'Upgrade required', { detail: 'GET /api/live is a WebSocket endpoint: connect with a WebSocket client.', headers: { Upgrade: 'websocket', Connection: 'Upgrade' } });
      },
    ),
  ];
}
