// Reclassification: carry an external person's conversations over to
// their new internal ID, or hand a leaving member's over to their
// external account. Both preview first and say what changes for whom.

import { h, mount, field } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { toast, confirmDialog, emptyState, busy, form, pageHeader, errorBox } from '../core/ui.js';
import { admin, enc, layout, table, section, when } from './common.js';

export function reclassifyPage(params, query) {
  const content = layout('reclassify');
  const handovers = h('div', { 'data-test': 'handovers' });
  content.append(pageHeader(t('admin.reclassify.title')),
    h('p', {}, t('admin.reclassify.intro')),
    section(t('admin.reclassify.carry_title'), h('p', { class: 'hint' }, t('admin.reclassify.carry_hint')), carryOver()),
    section(t('admin.reclassify.handover_title'), h('p', { class: 'hint' }, t('admin.reclassify.handover_hint')), handover(query.get('member') || '', () => drawHandovers(handovers))),
    section(t('admin.reclassify.handovers'), handovers));
  drawHandovers(handovers);
}

function preview(p) {
  return h('div', { class: 'panel', 'data-test': 'reclassify-preview' },
    h('p', { class: 'summary' }, p.summary),
    p.rooms && p.rooms.length ? table([
      { label: t('admin.reclassify.col_room'), cell: (r) => r.name || (r.kind === 'direct' ? t('admin.reclassify.direct') : r.room_id) },
      { label: t('admin.reclassify.col_moves'), cell: (r) => (r.moved ? t('admin.groups.yes') : h('span', {}, t('admin.groups.no'), r.reason ? [h('br'), h('small', {}, r.reason)] : null)) },
    ], p.rooms, { label: t('admin.reclassify.col_room') }) : emptyState(t('admin.reclassify.no_rooms')));
}

function carryOver() {
  const out = h('div', { 'aria-live': 'polite' });
  const f = form({ 'data-test': 'carry-over', class: 'panel' }, [
    field(t('admin.reclassify.from'), h('input', { name: 'from', required: true, placeholder: 'tanaka@partner.example' }), t('admin.reclassify.from_hint')),
    field(t('admin.reclassify.to'), h('input', { name: 'to', required: true, placeholder: 'tanaka@example.co.jp' }), t('admin.reclassify.to_hint')),
  ], t('admin.reclassify.preview'), async (v) => {
    const from = v.from.trim();
    const to = v.to.trim();
    const p = await admin.get('/reclassifications/carry-over', { from, to });
    const go = h('button', { type: 'button', class: 'primary' }, t('admin.reclassify.carry_run'));
    go.addEventListener('click', async () => {
      const ok = await confirmDialog({ title: t('admin.reclassify.carry_confirm'), body: h('p', {}, p.summary), confirmLabel: t('admin.reclassify.carry_run') });
      if (!ok) return;
      await busy(go, async () => {
        const done = await admin.post('/reclassifications/carry-over', { from, to });
        toast(t('admin.reclassify.carried'));
        mount(out, preview(done));
      }, out);
    });
    mount(out, preview(p), h('div', { class: 'actions' }, go));
  });
  return h('div', {}, f, out);
}

function handover(member, reload) {
  const out = h('div', { 'aria-live': 'polite' });
  const f = form({ 'data-test': 'handover', class: 'panel' }, [
    field(t('admin.reclassify.member'), h('input', { name: 'member', required: true, value: member, placeholder: 'sato@example.co.jp' })),
    field(t('admin.reclassify.handover_to'), h('input', { name: 'to', required: true, placeholder: 'sato@partner.example' }), t('admin.reclassify.handover_to_hint')),
  ], t('admin.reclassify.preview'), async (v) => {
    const m = await admin.get('/people/lookup', { id: v.member.trim() });
    const to = v.to.trim();
    const p = await admin.get(`/members/${enc(m.id)}/handover-preview`, { to });
    const go = h('button', { type: 'button', class: 'danger' }, t('admin.reclassify.handover_run'));
    go.addEventListener('click', async () => {
      const ok = await confirmDialog({ title: t('admin.reclassify.handover_confirm'), danger: true, typeToConfirm: m.sign_in_id, body: h('p', {}, p.summary), confirmLabel: t('admin.reclassify.handover_run') });
      if (!ok) return;
      await busy(go, async () => {
        await admin.post(`/members/${enc(m.id)}/handover`, { to });
        toast(t('admin.reclassify.offered', { to }));
        mount(out);
        reload();
      }, out);
    });
    mount(out, preview(p), h('div', { class: 'actions' }, go));
  });
  return h('div', {}, f, out);
}

async function drawHandovers(el) {
  try {
    const { items } = await admin.get('/handovers');
    if (!items.length) { mount(el, emptyState(t('admin.reclassify.handovers_empty'))); return; }
    mount(el, table([
      { label: t('admin.reclassify.member'), cell: (x) => x.from.sign_in_id },
      { label: t('admin.reclassify.handover_to'), cell: (x) => (x.to && x.to.sign_in_id) || '—' },
      { label: t('admin.members.col_status'), cell: (x) => t(`admin.reclassify.status_${x.status}`) },
      { label: t('admin.reclassify.col_offered'), cell: (x) => when(x.created_at) },
      { label: t('admin.members.col_actions'), cell: (x) => (x.status === 'pending' ? h('button', { type: 'button', onclick: (e) => busy(e.currentTarget, async () => { await admin.post(`/handovers/${enc(x.id)}/cancel`, {}); drawHandovers(el); }) }, t('admin.reclassify.withdraw')) : '') },
    ], items, { label: t('admin.reclassify.handovers') }));
  } catch (err) {
    mount(el, errorBox(err));
  }
}
