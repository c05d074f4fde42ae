// Unread totals of every account this browser holds, for the badges of
// the account switcher. The stream carries every held account's events,
// so any talk event may change any account's count: re-read them all,
// at most a few times a second.

import { api } from '../core/api.js';
import { state, emit, onChange } from '../core/state.js';
import * as stream from '../core/stream.js';

let timer = null;
let running = false;
let again = false;

async function refresh() {
  if (running) { again = true; return; }
  running = true;
  try {
    const held = state.accounts.filter((a) => !a.password_change_required);
    const next = {};
    await Promise.all(held.map(async (a) => {
      try {
        const u = await api.get('/unread', { account: a.account_id });
        next[a.account_id] = u.total || 0;
      } catch {
        next[a.account_id] = state.unread[a.account_id] || 0;
      }
    }));
    const changed = Object.keys(next).length !== Object.keys(state.unread).length ||
      Object.entries(next).some(([k, v]) => state.unread[k] !== v);
    state.unread = next;
    if (changed) emit('unread');
  } finally {
    running = false;
    if (again) { again = false; schedule(); }
  }
}

// schedule asks for a refresh soon, folding bursts of events into one.
export function schedule(delay = 250) {
  clearTimeout(timer);
  timer = setTimeout(refresh, delay);
}

const counted = new Set(['message.created', 'message.deleted', 'read.updated', 'member.joined', 'member.left']);

let started = false;
export function startUnread() {
  if (started) return;
  started = true;
  stream.onFrame((f) => {
    if ((f.type === 'event' && counted.has(f.kind)) || f.type === 'hello' || f.type === 'room.reset') schedule();
  });
  onChange((what) => { if (what === 'accounts') schedule(0); });
  schedule(0);
}
