// Shared pieces of every screen: toasts, the confirmation dialog, empty
// states, busy buttons, forms that report errors next to themselves.

import { h, mount } from './dom.js';
import { t, errorText } from './i18n.js';

export function toast(text, kind = 'info') {
  const box = document.getElementById('toasts');
  const el = h('div', { class: `toast toast-${kind}`, 'data-test': 'toast' }, text);
  box.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

// confirmDialog asks before something destructive. opts: title, body
// (nodes), confirmLabel, danger, typeToConfirm (a text the user must type).
// Resolves true when confirmed.
export function confirmDialog(opts) {
  return new Promise((resolve) => {
    const input = opts.typeToConfirm
      ? h('input', { type: 'text', autocomplete: 'off', 'data-test': 'confirm-input', 'aria-label': t('common.confirm_type', { text: opts.typeToConfirm }) })
      : null;
    const ok = h('button', { class: opts.danger ? 'danger' : 'primary', type: 'submit', 'data-test': 'confirm-ok', disabled: !!input }, opts.confirmLabel || t('common.confirm'));
    const cancel = h('button', { type: 'button', 'data-test': 'confirm-cancel' }, t('common.cancel'));
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'dlg-title' }, opts.title),
        h('div', { class: 'dialog-body' }, opts.body || null),
        input ? h('p', {}, t('common.confirm_type', { text: opts.typeToConfirm })) : null,
        input,
        h('div', { class: 'actions' }, cancel, ok)));
    if (input) input.addEventListener('input', () => { ok.disabled = input.value.trim() !== opts.typeToConfirm; });
    let result = false;
    ok.addEventListener('click', () => { result = true; });
    cancel.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    document.body.append(dlg);
    dlg.showModal();
    (input || cancel).focus();
  });
}

export function emptyState(title, text, action) {
  return h('div', { class: 'empty', 'data-test': 'empty' }, h('p', { class: 'empty-title' }, title), text ? h('p', {}, text) : null, action || null);
}

export function loading() {
  return h('p', { class: 'loading', role: 'status' }, t('common.loading'));
}

// errorBox shows an API error where the action happened.
export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert', 'data-test': 'error', 'data-code': err && err.code }, errorText(err));
}

// busy disables a button while fn runs and shows errors in slot (or a
// toast). Returns fn's result, or undefined on error.
export async function busy(button, fn, slot) {
  if (button) button.disabled = true;
  if (slot) mount(slot);
  try {
    return await fn();
  } catch (err) {
    if (slot) mount(slot, errorBox(err));
    else toast(errorText(err), 'error');
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

// form builds a <form> whose submit runs onSubmit(values) with the busy
// state and an error slot under the fields.
export function form(attrs, fields, submitLabel, onSubmit) {
  const errors = h('div', { class: 'form-errors' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-test': (attrs['data-test'] || 'form') + '-submit' }, submitLabel);
  const el = h('form', { ...attrs, novalidate: true }, fields, errors, h('div', { class: 'actions' }, submit));
  el.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const values = Object.fromEntries(new FormData(el).entries());
    busy(submit, () => onSubmit(values, el), errors);
  });
  return el;
}

export function pageHeader(title, ...actions) {
  return h('header', { class: 'page-header' }, h('h1', {}, title), actions.length ? h('div', { class: 'actions' }, actions) : null);
}

// pager renders "Load more" for cursor pagination.
export function pager(nextCursor, load) {
  if (!nextCursor) return null;
  const b = h('button', { type: 'button', 'data-test': 'load-more' }, t('common.load_more'));
  b.addEventListener('click', () => busy(b, () => load(nextCursor)));
  return h('div', { class: 'pager' }, b);
}
