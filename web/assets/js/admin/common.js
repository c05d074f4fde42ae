// Pieces every console screen shares: the section navigation, API calls
// as the acting admin, tables that scroll sideways on a phone, dialogs and
// the invitation sheet viewer.

import { h, mount } from '../core/dom.js';
import { t, formatTime, currentLanguage } from '../core/i18n.js';
import { api, request, download } from '../core/api.js';
import { frame } from '../core/shell.js';
import { busy, errorBox, loading } from '../core/ui.js';

// admin is the API as the console calls it (as the account on screen, like
// every call): queries as the second argument of get, and DELETE with an
// optional body.
export const admin = {
  ...api,
  get: (p, query) => api.get(p, { query }),
  del: (p, body) => api.del(p, body === undefined ? {} : { body }),
};

export const enc = encodeURIComponent;

const sections = [
  ['members', '/admin/members'],
  ['import', '/admin/import'],
  ['domains', '/admin/domains'],
  ['policy', '/admin/policy'],
  ['groups', '/admin/groups'],
  ['reclassify', '/admin/reclassify'],
  ['settings', '/admin/settings'],
  ['audit', '/admin/audit'],
];

// layout mounts the console frame with its section navigation and returns
// the element the section draws into.
export function layout(current) {
  const main = frame('admin');
  const nav = h('nav', { class: 'admin-nav', 'aria-label': t('admin.nav') },
    h('ul', {}, sections.map(([name, path]) => h('li', {},
      h('a', { href: '#' + path, 'data-test': `admin-nav-${name}`, class: name === current ? 'active' : null, 'aria-current': name === current ? 'page' : null },
        t(`admin.nav.${name}`))))));
  const content = h('section', { class: 'admin-content', 'data-test': `admin-${current}` });
  main.append(h('div', { class: 'admin' }, nav, content));
  return content;
}

// table builds a horizontally scrolling table. cols: [{label, cell(row)}].
export function table(cols, rows, attrs = {}) {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': attrs.label || null },
    h('table', { 'data-test': attrs.test || null },
      attrs.caption ? h('caption', { class: 'sr-only' }, attrs.caption) : null,
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c.label)))),
      h('tbody', {}, rows.map((r) => row(cols, r, attrs)))));
}

function row(cols, r, attrs) {
  return h('tr', attrs.rowAttrs ? attrs.rowAttrs(r) : {}, cols.map((c) => h('td', { class: c.class || null }, c.cell(r))));
}

// appendRows adds rows to a table made by table() (for "load more").
export function appendRows(wrap, cols, rows, attrs = {}) {
  const body = wrap.querySelector('tbody');
  for (const r of rows) body.append(row(cols, r, attrs));
}

export const when = (iso) => (iso ? h('time', { datetime: iso }, formatTime(iso)) : '');

export function statusTag(kind, text) {
  return h('span', { class: `tag tag-${kind}` }, text);
}

// section is a titled block within a screen.
export function section(title, ...content) {
  return h('section', { class: 'admin-block' }, h('h2', {}, title), content);
}

// modal opens a dialog with content and a close button; returns
// {dialog, body, close}. onClose runs when it closes.
export function modal(title, test, onClose) {
  const body = h('div', { class: 'dialog-body' });
  const closeBtn = h('button', { type: 'button', 'data-test': `${test}-close` }, t('common.close'));
  const footer = h('div', { class: 'actions' }, closeBtn);
  const id = `dlg-${test}`;
  const dlg = h('dialog', { class: 'dialog admin-dialog', 'data-test': test, 'aria-labelledby': id },
    h('h2', { id }, title), body, footer);
  closeBtn.addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => { dlg.remove(); if (onClose) onClose(); });
  document.body.append(dlg);
  dlg.showModal();
  return { dialog: dlg, body, footer, close: () => dlg.close() };
}

// credentials shows an ID and its initial password, once, with the sheet
// actions for its ticket.
export function credentials(signInID, password, expiresAt, ticket) {
  return h('div', { class: 'credentials-box', 'data-test': 'credentials' },
    h('dl', { class: 'credentials' },
      h('dt', {}, t('admin.members.sign_in_id')), h('dd', { 'data-test': 'member-sign-in-id' }, signInID),
      h('dt', {}, t('admin.members.initial_password')), h('dd', {}, h('code', { 'data-test': 'member-initial-password' }, password)),
      expiresAt ? [h('dt', {}, t('admin.members.expires')), h('dd', {}, when(expiresAt))] : null),
    h('p', { class: 'notice' }, t('admin.members.shown_once')),
    ticket ? sheetActions(ticket) : null);
}

// sheetActions prints the invitation sheets of a ticket: the HTML sheet in
// a viewer, or a PDF download.
export function sheetActions(ticket, withCSV = false) {
  const slot = h('div');
  const print = h('button', { type: 'button', class: 'primary', 'data-test': 'print-sheet' }, t('admin.sheet.print'));
  print.addEventListener('click', () => busy(print, () => showSheet({ ticket }), slot));
  const pdf = h('button', { type: 'button', 'data-test': 'sheet-pdf' }, t('admin.sheet.pdf'));
  pdf.addEventListener('click', () => busy(pdf, () => downloadSheet({ ticket, format: 'pdf' }, 'kizuna-invitation.pdf'), slot));
  let csv = null;
  if (withCSV) {
    csv = h('button', { type: 'button', 'data-test': 'sheet-csv' }, t('admin.sheet.csv'));
    csv.addEventListener('click', () => busy(csv, () => downloadSheet({ ticket, format: 'csv' }, 'kizuna-initial-passwords.csv'), slot));
  }
  return h('div', {}, h('div', { class: 'actions' }, print, pdf, csv), slot);
}

const downloadSheet = (body, filename) =>
  download('/sheets', filename, { method: 'POST', body: { ...body, lang: currentLanguage() } });

// showSheet fetches the HTML invitation sheets (POST /sheets with a ticket,
// or member_ids) and shows them in a frame of their own, from a blob URL:
// the sheet never becomes part of the console's page.
export async function showSheet(req) {
  const res = await request('POST', '/api/v1/sheets', { body: { ...req, format: 'html', lang: currentLanguage() }, raw: true });
  const blob = new Blob([await res.text()], { type: 'text/html' });
  const url = URL.createObjectURL(blob);
  const frameEl = h('iframe', { class: 'sheet-frame', src: url, title: t('admin.sheet.title'), 'data-test': 'sheet-frame' });
  const m = modal(t('admin.sheet.title'), 'sheet', () => URL.revokeObjectURL(url));
  m.dialog.classList.add('sheet-dialog');
  const printBtn = h('button', { type: 'button', class: 'primary', 'data-test': 'sheet-print' }, t('admin.sheet.print_now'));
  printBtn.addEventListener('click', () => frameEl.contentWindow.print());
  const open = h('a', { class: 'button', href: url, target: '_blank', rel: 'noopener', 'data-test': 'sheet-open' }, t('admin.sheet.open'));
  mount(m.body, h('p', { class: 'hint' }, t('admin.sheet.hint')), frameEl);
  m.footer.prepend(open, printBtn);
  return m;
}

// loadInto shows loading, runs fn and mounts its result or the error.
export async function loadInto(el, fn) {
  mount(el, loading());
  try {
    mount(el, await fn());
  } catch (err) {
    mount(el, errorBox(err));
  }
}

// checkbox is a labelled checkbox (label wraps the box).
export function checkbox(name, label, checked, test, hint) {
  const box = h('input', { type: 'checkbox', name, checked: !!checked, 'data-test': test || null });
  return h('div', { class: 'check' }, h('label', {}, box, ' ', label), hint ? h('small', { class: 'hint' }, hint) : null);
}

// radios is a fieldset of radio buttons: options [[value, label, hint]].
export function radios(name, legend, options, value, test) {
  return h('fieldset', { class: 'radios', 'data-test': test || null },
    h('legend', {}, legend),
    options.map(([v, label, hint]) => h('div', { class: 'check' },
      h('label', {}, h('input', { type: 'radio', name, value: v, checked: v === value, 'data-test': test ? `${test}-${v}` : null }), ' ', label),
      hint ? h('small', { class: 'hint' }, hint) : null)));
}
