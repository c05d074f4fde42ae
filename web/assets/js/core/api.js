// The JSON API, called with the browser's cookies. The page never holds a
// token: the server keeps each signed-in account's session in an HttpOnly
// cookie and picks the one named by X-Kizuna-Account. State changes carry
// the CSRF token from GET /web/session.

let csrf = '';
// actingAccount names the account a call acts as when it names none: the
// one on screen (state.js registers it; api.js cannot import state.js,
// which imports it).
let actingAccount = () => null;
export function actAs(fn) { actingAccount = fn; }

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function networkError(e) {
  const err = new ApiError(0, 'network', e.message);
  err.network = true;
  return err;
}

// request calls the API. opts: body (JSON-encoded unless FormData/Blob/
// string with contentType), account (acts as that held account), query
// (object → ?a=b), raw (return the Response), signal. Without account a
// call acts as the account on screen.
export async function request(method, path, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
  const account = opts.account !== undefined ? opts.account : actingAccount();
  if (account) headers['X-Kizuna-Account'] = account;
  let body;
  if (opts.body !== undefined) {
    if (typeof opts.body === 'string' || opts.body instanceof Blob) {
      body = opts.body;
      headers['Content-Type'] = opts.contentType || 'text/plain; charset=utf-8';
    } else {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] = 'application/json';
    }
  }
  let url = path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body, credentials: 'same-origin', signal: opts.signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw networkError(e);
  }
  if (!res.ok) {
    let code = 'http_' + res.status;
    let message = res.statusText;
    let details;
    try {
      const j = await res.json();
      if (j && j.error) ({ code, message, details } = j.error);
    } catch { /* not JSON */ }
    const err = new ApiError(res.status, code, message, details);
    err.retryAfter = Number(res.headers.get('Retry-After')) || 0;
    throw err;
  }
  if (opts.raw) return res;
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : res.text();
}

const v1 = (p) => (p.startsWith('/api/') ? p : `/api/v1${p}`);
export const api = {
  get: (p, o) => request('GET', v1(p), o),
  post: (p, body, o = {}) => request('POST', v1(p), { ...o, body }),
  patch: (p, body, o = {}) => request('PATCH', v1(p), { ...o, body }),
  put: (p, body, o = {}) => request('PUT', v1(p), { ...o, body }),
  del: (p, o) => request('DELETE', v1(p), o),
};

// The browser session: which accounts this browser holds.
export async function loadSession() {
  const s = await request('GET', '/web/session');
  csrf = s.csrf_token;
  return s.accounts;
}
export const signIn = (id, password) => request('POST', '/web/session', { body: { id, password } });
export const signOut = (accountId) => request('DELETE', `/web/session/${encodeURIComponent(accountId)}`);
export const changePassword = (accountId, current, next) =>
  request('POST', `/web/session/${encodeURIComponent(accountId)}/password`, { body: { current_password: current, new_password: next } });

// download fetches a file as the account and hands it to the browser.
export async function download(path, filename, opts = {}) {
  const res = await request(opts.method || 'GET', v1(path), { ...opts, raw: true });
  saveBlob(await res.blob(), filename);
}

// saveBlob hands a file the page made or fetched to the browser.
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
