// Domains: add, rename, delete after the impact preview (the members in
// it, moved or deleted with it; the name typed to confirm), and restore a
// deleted domain within the retention period.

import { h, mount, field } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { toast, confirmDialog, emptyState, busy, form, pageHeader, errorBox } from '../core/ui.js';
import { admin, enc, layout, table, when, statusTag, section, radios } from './common.js';

export function domainsPage() {
  const content = layout('domains');
  const live = h('div', { 'data-test': 'domains-live' });
  const deleted = h('div', { 'data-test': 'domains-deleted' });
  const reload = () => Promise.all([drawLive(live, reload), drawDeleted(deleted, reload)]);

  const f = form({ 'data-test': 'domain-add', class: 'panel inline-form' }, [
    field(t('admin.domains.name'), h('input', { name: 'name', required: true, autocomplete: 'off', placeholder: 'project.example', 'data-test': 'domain-name' }), t('admin.domains.name_hint')),
  ], t('admin.domains.add'), async (v, el) => {
    const d = await admin.post('/domains', { name: v.name.trim() });
    el.reset();
    toast(t('admin.domains.added', { name: d.display_name }));
    reload();
  });

  content.append(pageHeader(t('admin.domains.title')), f,
    section(t('admin.domains.live'), live),
    section(t('admin.domains.deleted'), h('p', { class: 'hint' }, t('admin.domains.deleted_hint')), deleted));
  reload();
}

async function drawLive(el, reload) {
  try {
    const { items } = await admin.get('/domains');
    if (!items.length) { mount(el, emptyState(t('admin.domains.empty'))); return; }
    mount(el, table([
      { label: t('admin.domains.col_name'), cell: (d) => h('strong', {}, d.display_name) },
      { label: t('admin.domains.col_added'), cell: (d) => when(d.created_at) },
      { label: t('admin.domains.col_verified'), cell: (d) => (d.verified_at ? statusTag('ok', t('admin.domains.verified')) : h('span', {}, statusTag('muted', t('admin.domains.unverified')), h('br'), h('small', { class: 'mono' }, d.verification_record))) },
      {
        label: t('admin.members.col_actions'), class: 'row-actions',
        cell: (d) => h('div', { class: 'actions' },
          h('button', { type: 'button', 'data-test': 'domain-rename', 'data-domain': d.display_name, 'aria-label': t('admin.domains.rename_who', { name: d.display_name }), onclick: (e) => rename(e.currentTarget, d, items, reload) }, t('admin.domains.rename')),
          h('button', { type: 'button', class: 'danger-outline', 'data-test': 'domain-delete', 'data-domain': d.display_name, 'aria-label': t('admin.domains.delete_who', { name: d.display_name }), onclick: (e) => remove(e.currentTarget, d, items, reload) }, t('common.delete'))),
      },
    ], items, { rowAttrs: (d) => ({ 'data-test': 'domain-row', 'data-domain': d.display_name }), label: t('admin.domains.live') }));
  } catch (err) {
    mount(el, errorBox(err));
  }
}

async function drawDeleted(el, reload) {
  try {
    const { items } = await admin.get('/deleted-domains');
    if (!items.length) { mount(el, emptyState(t('admin.domains.deleted_empty'))); return; }
    mount(el, table([
      { label: t('admin.domains.col_name'), cell: (d) => h('strong', {}, d.display_name) },
      { label: t('admin.domains.col_deleted'), cell: (d) => when(d.deleted_at) },
      { label: t('admin.domains.col_restorable_until'), cell: (d) => when(d.restorable_until) },
      {
        label: t('admin.members.col_actions'), class: 'row-actions',
        cell: (d) => h('button', {
          type: 'button', 'data-test': 'domain-restore', 'data-domain': d.display_name, 'aria-label': t('admin.domains.restore_who', { name: d.display_name }),
          onclick: (e) => busy(e.currentTarget, async () => {
            await admin.post(`/domains/${enc(d.id)}/restore`, {});
            toast(t('admin.domains.restored', { name: d.display_name }));
            reload();
          }),
        }, t('admin.domains.restore')),
      },
    ], items, { rowAttrs: (d) => ({ 'data-test': 'deleted-domain-row', 'data-domain': d.display_name }), label: t('admin.domains.deleted') }));
  } catch (err) {
    mount(el, errorBox(err));
  }
}

async function rename(button, d, all, reload) {
  const input = h('input', { value: d.display_name, autocomplete: 'off', 'data-test': 'domain-rename-input' });
  const ok = await confirmDialog({
    title: t('admin.domains.rename_title', { name: d.display_name }), confirmLabel: t('admin.domains.rename'),
    body: h('div', {}, h('p', {}, t('admin.domains.rename_body', { name: d.display_name })), field(t('admin.domains.new_name'), input)),
  });
  if (!ok || !input.value.trim() || input.value.trim() === d.display_name) return;
  await busy(button, async () => {
    const nd = await admin.patch(`/domains/${enc(d.id)}`, { name: input.value.trim() });
    toast(t('admin.domains.renamed', { from: d.display_name, to: nd.display_name }));
    reload();
  });
}

// remove shows what deleting the domain would change, asks how to treat
// its members and for the name, then deletes.
async function remove(button, d, all, reload) {
  const others = all.filter((o) => o.id !== d.id);
  let impact;
  await busy(button, async () => { impact = await admin.get(`/domains/${enc(d.id)}/deletion-preview`); });
  if (!impact) return;
  const impactEl = h('div', { 'data-test': 'domain-impact', 'aria-live': 'polite' });
  const drawImpact = (imp, moveTo) => mount(impactEl, impactView(imp, d, moveTo));
  drawImpact(impact, '');

  const choice = radios('members', t('admin.domains.members_choice'), [
    ['delete', t('admin.domains.members_delete'), t('admin.domains.members_delete_hint')],
    ['move', t('admin.domains.members_move'), t('admin.domains.members_move_hint')],
  ], 'delete', 'domain-members');
  const moveTo = h('select', { 'data-test': 'domain-move-to', disabled: true }, others.map((o) => h('option', { value: o.name }, o.display_name)));
  const moveField = field(t('admin.domains.move_to'), moveTo);
  if (!others.length) choice.querySelector('[value=move]').disabled = true;
  const refresh = async () => {
    const move = choice.querySelector('[value=move]').checked;
    moveTo.disabled = !move;
    try {
      drawImpact(await admin.get(`/domains/${enc(d.id)}/deletion-preview`, { move_to: move ? moveTo.value : '' }), move ? moveTo.value : '');
    } catch (err) {
      mount(impactEl, errorBox(err));
    }
  };
  choice.addEventListener('change', refresh);
  moveTo.addEventListener('change', refresh);

  const blocked = impact.is_last_domain;
  const ok = await confirmDialog({
    title: t('admin.domains.delete_title', { name: d.display_name }), danger: true,
    confirmLabel: t('admin.domains.delete_confirm'), typeToConfirm: d.display_name,
    body: h('div', { class: 'domain-delete' }, impactEl, blocked ? null : [choice, moveField]),
  });
  if (!ok) return;
  const move = choice.querySelector('[value=move]').checked;
  await busy(button, async () => {
    await admin.del(`/domains/${enc(d.id)}`, { members: move ? 'move' : 'delete', move_to: move ? moveTo.value : undefined, confirm: d.display_name });
    toast(t('admin.domains.deleted_done', { name: d.display_name }));
    await reload();
  });
}

function impactView(imp, d, moveTo) {
  const ids = imp.sample_member_ids || [];
  return h('div', {},
    imp.is_last_domain ? h('p', { class: 'error', role: 'alert' }, t('admin.domains.last_domain')) : null,
    h('p', {}, moveTo
      ? t('admin.domains.impact_move', { count: imp.members, name: d.display_name, to: moveTo })
      : t('admin.domains.impact_delete', { count: imp.members, name: d.display_name })),
    ids.length ? h('ul', { class: 'impact-list', 'data-test': 'domain-impact-members', 'aria-label': t('admin.domains.impact_members') }, ids.map((id) => h('li', {}, id))) : null,
    imp.members > ids.length ? h('p', { class: 'hint' }, t('admin.domains.impact_more', { count: imp.members - ids.length })) : null,
    h('ul', { class: 'impact-facts' },
      h('li', {}, t('admin.domains.impact_invites', { count: imp.invite_links })),
      h('li', {}, t('admin.domains.impact_mail', { count: imp.pending_mail })),
      imp.owners_in_domain ? h('li', {}, t('admin.domains.impact_owners', { count: imp.owners_in_domain, elsewhere: imp.owners_elsewhere })) : null,
      imp.move_conflict_count ? h('li', { class: 'error' }, t('admin.domains.impact_conflicts', { count: imp.move_conflict_count, ids: (imp.move_conflicts || []).join(', ') })) : null),
    h('p', { class: 'hint' }, t('admin.domains.restore_note')));
}
