// Confidant reference client: the cookie transport of docs/DESIGN.md §5.5-§5.6 from a browser, with no
// framework and no build step. The access token and the CSRF token live in memory only
// (never localStorage); the refresh token lives in an HttpOnly cookie the page cannot read.

const params = new URLSearchParams(window.location.search);
const $ = (id) => document.getElementById(id);
const logArea = $('log');

/** The API origin: `?api=` wins over `<meta name="confidant-api">`; empty means this page's origin. */
function apiBase() {
  const configured = params.get('api') ?? document.querySelector('meta[name="confidant-api"]')?.content ?? '';
  if (configured.trim() === '') return window.location.origin;
  const url = new URL(configured);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`not an http(s) URL: ${configured}`);
  return url.origin;
}

const API = apiBase();

/** What this tab knows. Gone on reload: the refresh cookie then gets it back (see refresh). */
const state = { accessToken: undefined, csrfToken: undefined, challenge: undefined, live: undefined };

function log(line) {
  logArea.textContent += `${line}\n`;
}

/** One call to the API. Problems (application/problem+json) become `Error("<status> <code>")`. */
async function api(path, { method = 'GET', headers = {}, json, credentials = 'include' } = {}) {
  const init = { method, credentials, cache: 'no-store', headers: { ...headers } };
  if (json !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(json);
  }
  const response = await fetch(`${API}${path}`, init);
  const body = response.status === 204 ? undefined : await response.json().catch(() => undefined);
  if (!response.ok) throw new Error(`${response.status} ${body?.code ?? response.statusText}`);
  return body;
}

function keep(body) {
  state.accessToken = body.accessToken;
  state.csrfToken = body.csrfToken;
}

function forget() {
  state.accessToken = undefined;
  state.csrfToken = undefined;
}

const bearer = () => ({ authorization: `Bearer ${state.accessToken}` });

/** After a reload the CSRF token is gone from memory; the refresh cookie can mint a new one. */
async function csrfToken() {
  if (!state.csrfToken) state.csrfToken = (await api('/api/auth/csrf')).csrfToken;
  return state.csrfToken;
}

/**
 * The live channel (/api/live) of the API's origin, ws:// or wss://. The token goes in the first
 * message, never in the URL; `waitFor` resolves with the first frame of one of the given types.
 */
function liveSocket() {
  const url = new URL('/api/live', API);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url);
  const waiting = [];
  const live = {
    socket,
    as: undefined,
    send: (message) => socket.send(JSON.stringify(message)),
    waitFor: (types) => new Promise((resolve, reject) => waiting.push({ types, resolve, reject })),
  };
  socket.addEventListener('open', () => live.send({ type: 'auth', token: state.accessToken }));
  socket.addEventListener('message', (event) => {
    const frame = JSON.parse(event.data);
    describeFrame(frame);
    for (const waiter of waiting.splice(0)) {
      if (waiter.types.includes(frame.type)) waiter.resolve(frame);
      else waiting.push(waiter);
    }
  });
  socket.addEventListener('close', (event) => {
    log(`live closed ${event.code} ${event.reason}`);
    if (state.live === live) state.live = undefined;
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`closed ${event.code} ${event.reason}`));
  });
  return live;
}

/** One log line per frame the server pushes. */
function describeFrame(frame) {
  if (frame.type === 'entry.created') {
    const { entry } = frame;
    log(`live entry ${entry.kind} ${entry.kind === 'emotion' ? entry.emotion : entry.text}`);
  } else if (frame.type === 'presence') log(`live presence ${frame.participants.map((p) => p.role).join(', ')}`);
  else if (frame.type === 'session.state') log(`live state ${frame.status}`);
  else if (frame.type === 'error') log(`live error ${frame.status} ${frame.code}`);
}

const steps = {
  /**
   * Cookie transport (the default): the refresh token comes back as an HttpOnly cookie. An
   * account with a second factor answers a challenge instead: the code form appears.
   */
  async login() {
    const email = $('email').value;
    const password = $('password').value;
    const body = await api('/api/auth/login', { method: 'POST', json: { email, password } });
    if (body.mfaRequired) {
      state.challenge = body.challenge;
      $('second-factor').hidden = false;
      return `login needs a second factor (${body.methods.join(', ')})`;
    }
    keep(body);
    return body.mfaEnrolmentRequired ? 'login ok (enrolment only: set up a second factor, then refresh)' : 'login ok';
  },

  /** A sign-in link by mail; the link opens this page with `#token=…` (see `fromFragment`). */
  async magicLink() {
    await api('/api/auth/magic-link', { method: 'POST', json: { email: $('email').value } });
    return 'magic link requested';
  },

  /**
   * Sign in with an OpenID provider: a full-page navigation to the API, which redirects to the
   * provider; the provider sends the browser back through the API to this page with `#code=…`.
   * After the exchange the page runs `?then=` (say `me`).
   */
  async oidcLogin() {
    const provider = params.get('provider') ?? (await api('/api/auth/oidc/providers', { credentials: 'omit' })).items[0]?.id;
    if (!provider) throw new Error('no provider configured');
    const back = new URL(window.location.pathname, window.location.origin);
    back.searchParams.set('api', API);
    if (params.get('then')) back.searchParams.set('autorun', params.get('then'));
    const start = new URL(`${API}/api/auth/oidc/${encodeURIComponent(provider)}/start`);
    start.searchParams.set('returnTo', back.href);
    window.location.assign(start.href);
    return `oidc login: to ${provider}`;
  },

  /** The second step: the login's challenge and a code from the authenticator app or a recovery code. */
  async verify() {
    const code = $('code').value.trim();
    const json = /^\d{6}$/.test(code) ? { challenge: state.challenge, code } : { challenge: state.challenge, recoveryCode: code };
    keep(await api('/api/auth/mfa/verify', { method: 'POST', json }));
    state.challenge = undefined;
    $('second-factor').hidden = true;
    return 'verify ok';
  },

  /** A new authenticator-app secret: the QR code (an SVG data URL) and the secret to type by hand. */
  async totpSetup() {
    const setup = await api('/api/auth/mfa/totp/setup', { method: 'POST', headers: bearer(), credentials: 'omit' });
    $('qr').src = setup.qr;
    $('totp-secret').textContent = setup.secret;
    $('totp').hidden = false;
    return 'totp setup ok';
  },

  /** The first code turns the app on; the ten recovery codes are shown this once. */
  async totpConfirm() {
    const body = await api('/api/auth/mfa/totp/confirm', { method: 'POST', headers: bearer(), credentials: 'omit', json: { code: $('totp-code').value.trim() } });
    $('recovery-codes').textContent = body.recoveryCodes.join('\n');
    return `totp confirmed, ${body.recoveryCodes.length} recovery codes`;
  },

  /** navigator.credentials.create() with the server's options; the credential goes back as JSON. */
  async passkeyRegister() {
    const options = await api('/api/auth/passkeys/register/options', { method: 'POST', headers: bearer(), credentials: 'omit' });
    const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
    const passkey = await api('/api/auth/passkeys/register/verify', {
      method: 'POST',
      headers: bearer(),
      credentials: 'omit',
      json: { name: 'This browser', response: credential.toJSON() },
    });
    return `passkey added ${passkey.name}`;
  },

  /** Username-less: the browser offers the passkeys of this site, the chosen one names the account. */
  async passkeyLogin() {
    const options = await api('/api/auth/passkeys/login/options', { method: 'POST' });
    const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
    keep(await api('/api/auth/passkeys/login/verify', { method: 'POST', json: { response: credential.toJSON() } }));
    return 'passkey login ok';
  },

  async passkeys() {
    const { items } = await api('/api/auth/passkeys', { headers: bearer(), credentials: 'omit' });
    return `passkeys: ${items.map((item) => item.name).join(', ') || 'none'}`;
  },

  /** The bearer token alone authenticates; no cookie needed. */
  async me() {
    if (!state.accessToken) throw new Error('not logged in');
    const user = await api('/api/auth/me', { headers: bearer(), credentials: 'omit' });
    return `me ok ${user.email}`;
  },

  /** The refresh cookie plus the X-CSRF-Token header (double submit); the browser adds Origin. */
  async refresh() {
    const before = state.accessToken;
    const body = await api('/api/auth/refresh', { method: 'POST', headers: { 'x-csrf-token': await csrfToken() } });
    keep(body);
    return before && before !== body.accessToken ? 'refresh ok (new access token)' : 'refresh ok';
  },

  /** A counseling session of the signed-in client, with the counselor of `?counselor=` when given. */
  async startSession() {
    const counselorId = params.get('counselor');
    const session = await api('/api/sessions', { method: 'POST', headers: bearer(), credentials: 'omit', json: { topic: 'Live', ...(counselorId && { counselorId }) } });
    $('session').value = session.id;
    return `session started ${session.id}`;
  },

  /** Connects, authenticates with the access token, and follows the session in the field. */
  async follow() {
    if (!state.accessToken) throw new Error('not logged in');
    state.live?.socket.close();
    const live = (state.live = liveSocket());
    const ready = await live.waitFor(['ready']);
    live.send({ type: 'subscribe', sessionId: $('session').value.trim() });
    const answer = await live.waitFor(['subscribed', 'error']);
    if (answer.type === 'error') throw new Error(`${answer.status} ${answer.code}`);
    live.as = answer.as;
    return `live following as ${answer.as} (${ready.userId})`;
  },

  /** A line of transcript over the socket; the other window sees it as `live entry transcript ...`. */
  async say() {
    const { live } = state;
    if (!live) throw new Error('not following a session');
    const text = $('line').value;
    live.send({ type: 'entry', sessionId: $('session').value.trim(), ref: 'say', entry: { kind: 'transcript', text, speaker: live.as === 'counselor' ? 'counselor' : 'client' } });
    const answer = await live.waitFor(['entry.accepted', 'error']);
    if (answer.type === 'error') throw new Error(`${answer.status} ${answer.code}`);
    return `live sent ${text}`;
  },

  async unfollow() {
    state.live?.socket.close(1000, 'bye');
    state.live = undefined;
    return 'live stopped';
  },

  /** Ends this session by bearer, or by cookie + CSRF when the page has no access token. */
  async logout() {
    const headers = state.accessToken ? bearer() : { 'x-csrf-token': await csrfToken() };
    try {
      await api('/api/auth/logout', { method: 'POST', headers });
    } finally {
      forget();
    }
    return 'logout ok';
  },
};

/**
 * A magic link (`#token=`) or a provider's one-time code (`#code=`) arrives in the fragment,
 * which no server sees; it is removed from the address bar and history before it is used, and
 * exchanged once, in a POST body, for the usual answer (refresh token in the HttpOnly cookie).
 */
async function fromFragment() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const [kind, value] = fragment.has('code') ? ['oidc', fragment.get('code')] : fragment.has('token') ? ['magic link', fragment.get('token')] : [];
  if (!kind) return;
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  try {
    const path = kind === 'oidc' ? '/api/auth/oidc/exchange' : '/api/auth/magic-link/verify';
    const body = await api(path, { method: 'POST', json: kind === 'oidc' ? { code: value } : { token: value } });
    if (body.mfaRequired) {
      state.challenge = body.challenge;
      $('second-factor').hidden = false;
      log(`${kind} login needs a second factor (${body.methods.join(', ')})`);
      return;
    }
    keep(body);
    log(`${kind} login ok`);
  } catch (error) {
    log(`${kind} login failed: ${error.message}`);
  }
}

/** Only one refresh at a time: rotation retires the token a second concurrent call would send. */
let running = Promise.resolve(true);

function run(name) {
  running = running.then(async () => {
    try {
      log(await steps[name]());
      return true;
    } catch (error) {
      if (name === 'refresh' && error.message.startsWith('401')) forget();
      log(`${name} failed: ${error.message}`);
      return false;
    }
  });
  return running;
}

/** `?autorun=1` runs login, me, refresh, me, logout; `?autorun=login,me` runs that list. Stops at the first failure. */
async function autorun(spec) {
  const list = spec === '1' ? ['login', 'me', 'refresh', 'me', 'logout'] : spec.split(',').map((step) => step.trim());
  for (const name of list) {
    if (!Object.hasOwn(steps, name)) {
      log(`autorun stopped: unknown step ${name}`);
      return;
    }
    if (!(await run(name))) {
      log(`autorun stopped at ${name}`);
      return;
    }
  }
  log('autorun done');
}

$('api').textContent = API;
$('email').value = params.get('email') ?? '';
$('password').value = params.get('password') ?? '';
$('credentials').addEventListener('submit', (event) => {
  event.preventDefault();
  run('login');
});
$('second-factor').addEventListener('submit', (event) => {
  event.preventDefault();
  run('verify');
});
$('totp').addEventListener('submit', (event) => {
  event.preventDefault();
  run('totpConfirm');
});
$('say-form').addEventListener('submit', (event) => {
  event.preventDefault();
  run('say');
});
$('session').value = params.get('session') ?? '';
$('line').value = params.get('line') ?? '';
for (const name of ['me', 'refresh', 'logout', 'totpSetup', 'passkeyRegister', 'passkeyLogin', 'passkeys', 'startSession', 'follow', 'unfollow', 'magicLink', 'oidcLogin']) {
  $(name).addEventListener('click', () => run(name));
}

const spec = params.get('autorun');
fromFragment().then(() => spec && autorun(spec));
