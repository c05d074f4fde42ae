// The external-talk policy and the queue of contacts awaiting approval.

import { h, mount, field } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { toast, confirmDialog, emptyState, busy, form, pageHeader, pager, errorBox, loading } from '../core/ui.js';
import { admin, enc, layout, table, appendRows, when, section, checkbox, radios, statusTag } from './common.js';

export function policyPage() {
  const content = layout('policy');
  const policyEl = h('div');
  const queue = h('div', { 'data-test': 'approvals' });
  content.append(pageHeader(t('admin.policy.title')),
    h('p', {}, t('admin.policy.intro')),
    policyEl,
    section(t('admin.policy.queue'), h('p', { class: 'hint' }, t('admin.policy.queue_hint')), queue));
  drawPolicy(policyEl);
  drawQueue(queue);
}

async function drawPolicy(el) {
  let p;
  try {
    p = await admin.get('/tenant/external-policy');
  } catch (err) {
    mount(el, errorBox(err));
    return;
  }
  const f = form({ 'data-test': 'policy', class: 'panel' }, [
    checkbox('allow_other_tenants', t('admin.policy.allow_other_tenants'), p.allow_other_tenants, 'policy-other-tenants', t('admin.policy.allow_other_tenants_hint')),
    checkbox('allow_personal', t('admin.policy.allow_personal'), p.allow_personal, 'policy-personal', t('admin.policy.allow_personal_hint')),
    radios('add_contacts', t('admin.policy.add_contacts'), [
      ['free', t('admin.policy.mode_free'), t('admin.policy.mode_free_hint')],
      ['approval', t('admin.policy.mode_approval'), t('admin.policy.mode_approval_hint')],
      ['admins_only', t('admin.policy.mode_admins_only'), t('admin.policy.mode_admins_only_hint')],
    ], p.add_contacts, 'policy-mode'),
    h('p', { class: 'hint' }, t('admin.policy.both_sides')),
  ], t('common.save'), async (v) => {
    await admin.put('/tenant/external-policy', {
      allow_personal: v.allow_personal === 'on', allow_other_tenants: v.allow_other_tenants === 'on', add_contacts: v.add_contacts,
    });
    toast(t('admin.policy.saved'));
  });
  mount(el, f);
}

const stageText = (s) => (s === 'acceptance' ? t('admin.policy.stage_acceptance') : t('admin.policy.stage_request'));

function person(p) {
  return h('span', {}, h('strong', {}, p.display_name || p.sign_in_id), h('br'), h('small', {}, p.sign_in_id),
    p.relation && p.relation !== 'internal' ? [' ', h('span', { class: 'external-mark', title: p.relation_reason }, t('admin.policy.external'))] : null);
}

async function drawQueue(el) {
  mount(el, loading());
  try {
    const page = await admin.get('/contact-approvals', { limit: 50 });
    if (!page.items.length) { mount(el, emptyState(t('admin.policy.queue_empty'), t('admin.policy.queue_empty_hint'))); return; }
    const reload = () => drawQueue(el);
    const cols = [
      { label: t('admin.policy.col_requester'), cell: (a) => person(a.requester) },
      { label: t('admin.policy.col_target'), cell: (a) => person(a.target) },
      { label: t('admin.policy.col_stage'), cell: (a) => [stageText(a.approval_stage), a.expired ? [' ', statusTag('warn', t('admin.policy.expired'))] : null] },
      { label: t('admin.policy.col_asked'), cell: (a) => when(a.created_at) },
      { label: t('admin.members.col_actions'), class: 'row-actions', cell: (a) => actions(a, reload) },
    ];
    const wrap = table(cols, page.items, { label: t('admin.policy.queue'), rowAttrs: (a) => ({ 'data-test': 'approval-row', 'data-requester': a.requester.sign_in_id }) });
    const more = h('div');
    const showPager = (cursor) => mount(more, pager(cursor, async (c) => {
      const next = await admin.get('/contact-approvals', { limit: 50, cursor: c });
      appendRows(wrap, cols, next.items);
      showPager(next.next_cursor);
    }));
    showPager(page.next_cursor);
    mount(el, wrap, more);
  } catch (err) {
    mount(el, errorBox(err));
  }
}

function actions(a, reload) {
  const approve = h('button', { type: 'button', class: 'primary', 'data-test': 'approval-approve' }, t('admin.policy.approve'));
  const reject = h('button', { type: 'button', 'data-test': 'approval-reject' }, t('admin.policy.reject'));
  const who = t('admin.policy.pair', { from: a.requester.sign_in_id, to: a.target.sign_in_id });
  approve.addEventListener('click', async () => {
    const until = h('input', { type: 'date', 'data-test': 'approval-until' });
    const ok = await confirmDialog({ title: t('admin.policy.approve_title'), confirmLabel: t('admin.policy.approve'),
      body: h('div', {}, h('p', {}, who), field(t('admin.policy.until'), until, t('admin.policy.until_hint'))) });
    if (!ok) return;
    await busy(approve, async () => {
      const body = until.value ? { expires_at: new Date(until.value + 'T23:59:59').toISOString() } : {};
      await admin.post(`/contact-approvals/${enc(a.id)}/approve`, body);
      toast(t('admin.policy.approved'));
      reload();
    });
  });
  reject.addEventListener('click', async () => {
    const ok = await confirmDialog({ title: t('admin.policy.reject_title'), danger: true, confirmLabel: t('admin.policy.reject'), body: h('p', {}, who) });
    if (!ok) return;
    await busy(reject, async () => {
      await admin.post(`/contact-approvals/${enc(a.id)}/reject`, {});
      toast(t('admin.policy.rejected'));
      reload();
    });
  });
  return h('div', { class: 'actions' }, approve, reject);
}
