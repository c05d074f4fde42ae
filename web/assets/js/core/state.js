// App-wide state: the accounts this browser holds and the one on screen.
// Listeners hear about changes; the page re-renders what depends on them.

import { loadSession, actAs } from './api.js';

const listeners = new Set();
export const state = {
  accounts: [], // [{account_id, sign_in_id, display_name, tenant_name, kind, role, password_change_required}]
  current: null, // account_id
  unread: {}, // account_id → total unread
};

export const MAX_ACCOUNTS = 5;

// Calls that name no account act as the one on screen.
actAs(() => state.current);

export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function emit(what) {
  for (const fn of listeners) fn(what);
}

export function currentAccount() {
  return state.accounts.find((a) => a.account_id === state.current) || null;
}

export const isAdmin = (a) => !!a && (a.role === 'admin' || a.role === 'owner');

// refreshAccounts re-reads the browser session and keeps the current
// account if it is still held.
export async function refreshAccounts() {
  state.accounts = await loadSession();
  const saved = localStorage.getItem('kizuna.current');
  if (!state.accounts.some((a) => a.account_id === state.current)) {
    state.current = state.accounts.some((a) => a.account_id === saved) ? saved : (state.accounts[0] || {}).account_id || null;
  }
  emit('accounts');
  return state.accounts;
}

export function switchAccount(id) {
  if (!state.accounts.some((a) => a.account_id === id)) return;
  state.current = id;
  localStorage.setItem('kizuna.current', id);
  emit('account');
}
