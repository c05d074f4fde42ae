// The event stream: one WebSocket for the whole browser, carrying the
// events of every account it holds (the server reads them off the client).
// It keeps the last position and resumes from it after a drop, so nothing
// is missed or seen twice; listeners get every frame.

const listeners = new Set();
let ws = null;
let pos = null;
let asAccount = null;
let backoff = 1000;
let timer = null;
let wanted = false;
let refs = 0;
const pending = new Map();
export const status = { connected: false, degraded: false };

export function onFrame(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function dispatch(frame) {
  for (const fn of listeners) {
    try { fn(frame); } catch (e) { console.error(e); }
  }
}

// connect opens the stream as a fully signed-in account (any one will do:
// the socket serves them all).
export function connect(accountId) {
  wanted = true;
  if (ws && asAccount === accountId) return;
  asAccount = accountId;
  if (ws) { ws.onclose = null; ws.close(1000); ws = null; }
  open();
}

export function disconnect() {
  wanted = false;
  clearTimeout(timer);
  if (ws) { ws.onclose = null; ws.close(1000); ws = null; }
  status.connected = false;
}

function open() {
  clearTimeout(timer);
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = new URLSearchParams({ as: asAccount });
  if (pos !== null) q.set('after', pos);
  const sock = new WebSocket(`${proto}//${location.host}/api/v1/events?${q}`);
  ws = sock;
  sock.onopen = () => { backoff = 1000; };
  sock.onmessage = (ev) => {
    for (const line of String(ev.data).split('\n')) {
      if (!line) continue;
      let f;
      try { f = JSON.parse(line); } catch { continue; }
      if (f.type === 'hello') {
        status.connected = true;
        pos = f.pos;
      } else if (typeof f.pos === 'number' && f.pos > (pos || 0)) {
        pos = f.pos;
      }
      if (f.ref && pending.has(f.ref)) {
        const p = pending.get(f.ref);
        pending.delete(f.ref);
        if (f.type === 'error') p.reject(Object.assign(new Error(f.error.message), { code: f.error.code }));
        else p.resolve(f);
      }
      if (f.type === 'notice' && f.kind === 'service.degraded') status.degraded = true;
      if (f.type === 'notice' && f.kind === 'service.recovered') status.degraded = false;
      dispatch(f);
    }
  };
  sock.onclose = (ev) => {
    if (ws !== sock) return;
    ws = null;
    status.connected = false;
    for (const p of pending.values()) p.reject(Object.assign(new Error('disconnected'), { code: 'network' }));
    pending.clear();
    dispatch({ type: 'closed', code: ev.code });
    if (ev.code === 4400) pos = null; // the position is not valid: start afresh
    if (!wanted || ev.code === 4001) return; // the session ended: the app signs in again
    timer = setTimeout(open, backoff);
    backoff = Math.min(backoff * 2, 15000);
  };
}

// send sends a client frame and resolves with its answer (ack/pong) or
// rejects with the error frame.
export function send(frame) {
  return new Promise((resolve, reject) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      reject(Object.assign(new Error('not connected'), { code: 'network' }));
      return;
    }
    const ref = `r${++refs}`;
    pending.set(ref, { resolve, reject });
    ws.send(JSON.stringify({ ...frame, ref }));
  });
}

// sync asks the server to re-read the accounts on this client (after a
// sign-in or sign-out in this browser).
export function sync() {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'sync' }));
}
