// The frame around every signed-in screen: brand, the area switch
// (client / admin console), the account switcher and the language choice.

import { h, mount, $ } from './dom.js';
import { t, currentLanguage, setLanguage, languages, errorText } from './i18n.js';
import { state, currentAccount, isAdmin, switchAccount, refreshAccounts, onChange, MAX_ACCOUNTS } from './state.js';
import { signOut } from './api.js';
import { navigate, render } from './router.js';
import { toast, confirmDialog } from './ui.js';
import * as stream from './stream.js';

let shell = null;

// frame mounts the shell (once) and returns its main element, emptied.
// area: 'client' | 'admin' picks the highlighted area link.
export function frame(area) {
  const app = document.getElementById('app');
  if (!shell || !app.contains(shell.root)) {
    const main = h('main', { id: 'main', tabindex: '-1' });
    const header = h('header', { class: 'topbar' });
    const root = h('div', { class: 'shell' }, h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } }, t('common.skip_to_content')), header, main);
    mount(app, root);
    shell = { root, header, main };
  }
  shell.area = area;
  drawHeader();
  mount(shell.main);
  shell.main.dataset.area = area;
  return shell.main;
}

onChange((what) => {
  if (shell && (what === 'accounts' || what === 'account' || what === 'unread')) drawHeader();
});

function drawHeader() {
  const me = currentAccount();
  const area = shell.area;
  // Unread counts redraw the header while someone may be using the
  // switcher: keep its menu open and the focus where it was.
  const wasOpen = !!shell.header.querySelector('.switcher[open]');
  const f = shell.header.contains(document.activeElement) ? document.activeElement : null;
  const focusSel = f && f.dataset.test ? `[data-test="${f.dataset.test}"]${f.dataset.account ? `[data-account="${f.dataset.account}"]` : ''}` : (f && f.tagName === 'SUMMARY' ? 'summary' : null);
  mount(shell.header,
    h('a', { class: 'brand', href: '#/app' }, h('img', { src: '/assets/icon.svg', alt: '' }), 'Kizuna'),
    h('nav', { class: 'areas', 'aria-label': t('common.areas') },
      h('a', { href: '#/app', class: area === 'client' ? 'active' : '', 'aria-current': area === 'client' ? 'page' : null, 'data-test': 'nav-client' }, t('common.area_client')),
      isAdmin(me) ? h('a', { href: '#/admin', class: area === 'admin' ? 'active' : '', 'aria-current': area === 'admin' ? 'page' : null, 'data-test': 'nav-admin' }, t('common.area_admin')) : null),
    h('div', { class: 'topbar-end' }, switcher(me), languagePicker()));
  const sw = shell.header.querySelector('.switcher');
  if (sw && wasOpen) sw.open = true;
  const refocus = focusSel && shell.header.querySelector(focusSel);
  if (refocus) refocus.focus();
}

export function languagePicker() {
  const sel = h('select', { 'aria-label': t('common.language'), 'data-test': 'language' },
    languages.map((l) => h('option', { value: l, selected: l === currentLanguage() }, t(`common.language_${l}`))));
  sel.addEventListener('change', async () => {
    await setLanguage(sel.value, true);
    if (shell) shell.root = null;
    render();
  });
  return sel;
}

function badge(n) {
  return n > 0 ? h('span', { class: 'badge', 'data-test': 'unread-badge', 'aria-label': t('common.unread_count', { count: n }) }, n > 99 ? '99+' : String(n)) : null;
}

// switcher lists the held accounts (up to five) with their unread counts.
function switcher(me) {
  if (!me) return null;
  const total = state.accounts.reduce((n, a) => n + (a.account_id === me.account_id ? 0 : state.unread[a.account_id] || 0), 0);
  const details = h('details', { class: 'switcher', 'data-test': 'account-switcher' });
  const summary = h('summary', { 'aria-label': t('common.switch_account') },
    h('span', { class: 'avatar', 'aria-hidden': 'true' }, (me.display_name || me.sign_in_id).slice(0, 1)),
    h('span', { class: 'who' }, h('strong', {}, me.display_name), h('small', {}, me.sign_in_id)),
    badge(total));
  const items = state.accounts.map((a) => h('li', {},
    h('button', {
      type: 'button', class: a.account_id === me.account_id ? 'current' : '', 'data-test': 'switch-to', 'data-account': a.sign_in_id,
      'aria-current': a.account_id === me.account_id ? 'true' : null,
      onclick: () => { details.open = false; switchAccount(a.account_id); navigate(a.password_change_required ? '#/password' : '#/app'); },
    }, h('span', { class: 'who' }, h('strong', {}, a.display_name), h('small', {}, a.sign_in_id, a.tenant_name ? ` · ${a.tenant_name}` : '')), badge(state.unread[a.account_id] || 0))));
  const full = state.accounts.length >= MAX_ACCOUNTS;
  details.append(summary, h('div', { class: 'menu' },
    h('p', { class: 'menu-note' }, t('common.accounts_held', { count: state.accounts.length, max: MAX_ACCOUNTS })),
    h('ul', {}, items),
    h('a', { href: '#/signin?add=1', class: 'button', 'data-test': 'add-account', onclick: () => { details.open = false; } }, t('common.add_account')),
    full ? h('p', { class: 'hint' }, t('common.accounts_full', { max: MAX_ACCOUNTS })) : null,
    h('button', { type: 'button', 'data-test': 'sign-out', onclick: () => signOutCurrent(me) }, t('common.sign_out_account', { id: me.sign_in_id }))));
  return details;
}

async function signOutCurrent(me) {
  const ok = await confirmDialog({ title: t('common.sign_out_title'), body: h('p', {}, t('common.sign_out_body', { id: me.sign_in_id })), confirmLabel: t('common.sign_out') });
  if (!ok) return;
  try {
    await signOut(me.account_id);
    await refreshAccounts();
    stream.sync();
    toast(t('common.signed_out', { id: me.sign_in_id }));
    navigate(state.accounts.length ? '#/app' : '#/signin');
  } catch (err) {
    toast(errorText(err), 'error');
  }
}

export const mainElement = () => (shell ? shell.main : $('#app'));
