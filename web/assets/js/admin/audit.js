// The audit log: newest first, filtered by action, a page at a time, and
// exported whole as CSV or JSON lines.

import { h, mount, field } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { download } from '../core/api.js';
import { navigate } from '../core/router.js';
import { currentAccount } from '../core/state.js';
import { emptyState, busy, pageHeader, pager, errorBox, toast, loading } from '../core/ui.js';
import { admin, enc, layout, table, appendRows, when } from './common.js';

// actions are the audited acts an admin is likely to look for.
const actions = ['member.add', 'member.import', 'member.reissue_password', 'member.suspend', 'member.restore', 'member.delete',
  'member.restrict', 'member.external_talk', 'member.carry_over', 'member.handover_offer', 'auth.login_failed', 'auth.lockout',
  'auth.password_changed', 'domain.delete', 'domain.restore', 'domain.rename', 'domain.transfer_offer', 'tenant.settings',
  'tenant.external_policy', 'tenant.restrictions', 'contact.approve', 'contact.reject', 'invite_link.create', 'invite_link.revoke',
  'group.create', 'group.delete', 'board.create', 'board.update', 'board.delete'];

export function auditPage(params, query) {
  const content = layout('audit');
  const action = query.get('action') || '';
  const list = h('div', { 'aria-live': 'polite' });
  const input = h('input', { name: 'action', value: action, list: 'audit-actions', autocomplete: 'off', 'data-test': 'audit-action', placeholder: 'member.add' });
  const filters = h('form', { class: 'audit-filters panel', role: 'search', 'data-test': 'audit-filters' },
    field(t('admin.audit.action'), input, t('admin.audit.action_hint')),
    h('datalist', { id: 'audit-actions' }, actions.map((a) => h('option', { value: a }))),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', 'data-test': 'audit-filter' }, t('admin.audit.filter')),
      action ? h('a', { class: 'button', href: '#/admin/audit' }, t('admin.audit.clear')) : null));
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = input.value.trim();
    navigate(v ? `#/admin/audit?action=${enc(v)}` : '#/admin/audit');
  });
  const exportSlot = h('span', { role: 'status', class: 'hint' });
  const exp = (format) => {
    const b = h('button', { type: 'button', 'data-test': `audit-export-${format}` }, format === 'csv' ? t('admin.audit.export_csv') : t('admin.audit.export_jsonl'));
    b.addEventListener('click', () => busy(b, async () => {
      exportSlot.textContent = t('admin.audit.exporting');
      try {
        await download(`/audit/export?format=${format}`, `kizuna-audit.${format}`);
        toast(t('admin.audit.exported'));
      } finally {
        exportSlot.textContent = '';
      }
    }));
    return b;
  };
  content.append(pageHeader(t('admin.audit.title'), exp('csv'), exp('jsonl'), exportSlot), filters, list);
  draw(list, action);
}

// actor names the acting admin themself; other actors by account key.
function actor(id) {
  const me = currentAccount();
  if (me && id === me.account_id) return t('admin.audit.you', { id: me.sign_in_id });
  return id ? h('small', { class: 'mono' }, id) : '—';
}

async function draw(el, action) {
  mount(el, loading());
  try {
    const page = await admin.get('/audit', { action, limit: 50 });
    if (!page.items.length) { mount(el, emptyState(action ? t('admin.audit.none_for', { action }) : t('admin.audit.empty'))); return; }
    const cols = [
      { label: t('admin.audit.col_time'), cell: (a) => when(a.created_at) },
      { label: t('admin.audit.col_action'), cell: (a) => h('code', {}, a.action) },
      { label: t('admin.audit.col_target'), cell: (a) => a.target || a.target_id || '—' },
      { label: t('admin.audit.col_actor'), cell: (a) => actor(a.actor_id) },
      { label: t('admin.audit.col_source'), cell: (a) => a.source_addr || '—' },
      { label: t('admin.audit.col_details'), class: 'details-cell', cell: (a) => a.details || '' },
    ];
    const rowAttrs = (a) => ({ 'data-test': 'audit-row', 'data-action': a.action });
    const wrap = table(cols, page.items, { label: t('admin.audit.title'), test: 'audit-table', rowAttrs });
    const more = h('div');
    const showPager = (cursor) => mount(more, pager(cursor, async (c) => {
      const next = await admin.get('/audit', { action, limit: 50, before: c });
      appendRows(wrap, cols, next.items, { rowAttrs });
      showPager(next.next_cursor);
    }));
    showPager(page.next_cursor);
    mount(el, wrap, more);
  } catch (err) {
    mount(el, errorBox(err));
  }
}
