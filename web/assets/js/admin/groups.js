// Groups (the organisation tree, internal members only) and boards with
// who reads, writes and manages them.

import { h, mount, field } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { toast, confirmDialog, emptyState, busy, form, pageHeader, errorBox } from '../core/ui.js';
import { admin, enc, layout, table, section, checkbox, modal } from './common.js';

export function groupsPage() {
  const content = layout('groups');
  const groupsEl = h('div', { 'data-test': 'groups' });
  const boardsEl = h('div', { 'data-test': 'boards' });
  let groups = [];
  const reload = async () => {
    try {
      groups = (await admin.get('/groups')).items;
    } catch (err) {
      mount(groupsEl, errorBox(err));
      return;
    }
    drawGroups(groupsEl, groups, reload);
    drawBoards(boardsEl, groups, reload);
  };
  content.append(pageHeader(t('admin.groups.title')),
    section(t('admin.groups.groups'), h('p', { class: 'hint' }, t('admin.groups.groups_hint')), groupsEl),
    section(t('admin.groups.boards'), h('p', { class: 'hint' }, t('admin.groups.boards_hint')), boardsEl));
  reload();
}

const groupName = (groups, id) => (groups.find((g) => g.id === id) || {}).name || '';

function groupOptions(groups, selected, none) {
  return [h('option', { value: '' }, none), groups.map((g) => h('option', { value: g.id, selected: g.id === selected }, g.name))];
}

function drawGroups(el, groups, reload) {
  const f = form({ 'data-test': 'group-add', class: 'panel' }, [
    field(t('admin.groups.name'), h('input', { name: 'name', required: true, 'data-test': 'group-name' })),
    field(t('admin.groups.parent'), h('select', { name: 'parent_id' }, groupOptions(groups, '', t('admin.groups.no_parent')))),
    checkbox('with_room', t('admin.groups.with_room'), true),
    checkbox('with_board', t('admin.groups.with_board'), false),
  ], t('admin.groups.create'), async (v) => {
    await admin.post('/groups', { name: v.name.trim(), parent_id: v.parent_id || undefined, with_room: v.with_room === 'on', with_board: v.with_board === 'on' });
    toast(t('admin.groups.created', { name: v.name.trim() }));
    reload();
  });
  const list = groups.length ? table([
    { label: t('admin.groups.col_name'), cell: (g) => h('strong', {}, g.name) },
    { label: t('admin.groups.col_parent'), cell: (g) => groupName(groups, g.parent_id) || '—' },
    { label: t('admin.groups.col_members'), cell: (g) => String(g.member_count) },
    { label: t('admin.members.col_actions'), class: 'row-actions', cell: (g) => h('button', { type: 'button', 'data-test': 'group-manage', 'aria-label': t('admin.groups.manage_who', { name: g.name }), onclick: () => manageGroup(g, groups, reload) }, t('admin.members.manage')) },
  ], groups, { label: t('admin.groups.groups'), rowAttrs: (g) => ({ 'data-test': 'group-row' }) }) : emptyState(t('admin.groups.empty'), t('admin.groups.empty_hint'));
  mount(el, list, h('details', { class: 'add-details' }, h('summary', {}, t('admin.groups.create')), f));
}

function manageGroup(g, groups, reload) {
  const m = modal(t('admin.groups.manage_title', { name: g.name }), 'group-dialog', reload);
  const members = h('div');
  const drawMembers = async () => {
    try {
      const { items } = await admin.get(`/groups/${enc(g.id)}/members`);
      mount(members, items.length ? table([
        { label: t('admin.members.col_name'), cell: (p) => h('span', {}, h('strong', {}, p.display_name), h('br'), h('small', {}, p.sign_in_id)) },
        { label: t('admin.groups.col_group_role'), cell: (p) => (p.group_role === 'manager' ? t('admin.groups.role_manager') : t('admin.groups.role_member')) },
        { label: t('admin.members.col_actions'), cell: (p) => h('button', { type: 'button', 'aria-label': t('admin.groups.remove_who', { id: p.sign_in_id }), onclick: (e) => busy(e.currentTarget, async () => { await admin.del(`/groups/${enc(g.id)}/members/${enc(p.id)}`); drawMembers(); }) }, t('admin.groups.remove')) },
      ], items, { label: t('admin.groups.members') }) : emptyState(t('admin.groups.no_members')));
    } catch (err) {
      mount(members, errorBox(err));
    }
  };
  const add = form({ 'data-test': 'group-members-add' }, [
    field(t('admin.groups.add_ids'), h('textarea', { name: 'ids', rows: 3, required: true, placeholder: 'sato@example.co.jp' }), t('admin.groups.add_ids_hint')),
    field(t('admin.groups.col_group_role'), h('select', { name: 'role' }, h('option', { value: 'member' }, t('admin.groups.role_member')), h('option', { value: 'manager' }, t('admin.groups.role_manager')))),
  ], t('admin.groups.add_members'), async (v, el) => {
    const ids = v.ids.split(/[\s,、]+/).map((s) => s.trim()).filter(Boolean);
    await admin.post(`/groups/${enc(g.id)}/members`, { members: ids, role: v.role });
    el.reset();
    drawMembers();
  });
  const rename = form({ class: 'inline-form' }, [
    field(t('admin.groups.name'), h('input', { name: 'name', required: true, value: g.name })),
    field(t('admin.groups.parent'), h('select', { name: 'parent_id' }, groupOptions(groups.filter((o) => o.id !== g.id), g.parent_id, t('admin.groups.no_parent')))),
  ], t('common.save'), async (v) => {
    await admin.patch(`/groups/${enc(g.id)}`, { name: v.name.trim(), parent_id: v.parent_id });
    toast(t('common.saved'));
  });
  const del = h('button', { type: 'button', class: 'danger' }, t('admin.groups.delete'));
  del.addEventListener('click', async () => {
    const ok = await confirmDialog({ title: t('admin.groups.delete_title', { name: g.name }), danger: true, confirmLabel: t('admin.groups.delete'), body: h('p', {}, t('admin.groups.delete_body')) });
    if (!ok) return;
    await busy(del, async () => { await admin.del(`/groups/${enc(g.id)}`); toast(t('admin.groups.deleted', { name: g.name })); m.close(); });
  });
  mount(m.body, section(t('admin.groups.members'), members, add), section(t('admin.groups.settings'), rename, h('div', { class: 'actions' }, del)));
  drawMembers();
}

const rights = ['read', 'write', 'manage'];

async function drawBoards(el, groups, reload) {
  let boards;
  try {
    boards = (await admin.get('/boards')).items;
  } catch (err) {
    mount(el, errorBox(err));
    return;
  }
  const add = h('button', { type: 'button', class: 'primary', 'data-test': 'board-add' }, t('admin.groups.board_create'));
  add.addEventListener('click', () => editBoard(null, groups, reload));
  mount(el, boards.length ? table([
    { label: t('admin.groups.col_name'), cell: (b) => h('strong', {}, b.name) },
    { label: t('admin.groups.col_board_group'), cell: (b) => groupName(groups, b.group_id) || '—' },
    { label: t('admin.groups.col_rules'), cell: (b) => rulesText(b.rules || [], groups) },
    { label: t('admin.groups.col_restricted'), cell: (b) => (b.allow_restricted ? t('admin.groups.yes') : t('admin.groups.no')) },
    { label: t('admin.members.col_actions'), class: 'row-actions', cell: (b) => h('button', { type: 'button', 'aria-label': t('admin.groups.edit_who', { name: b.name }), onclick: () => editBoard(b, groups, reload) }, t('common.edit')) },
  ], boards, { label: t('admin.groups.boards') }) : emptyState(t('admin.groups.boards_empty')), h('div', { class: 'actions' }, add));
}

function rulesText(rules, groups) {
  return h('ul', { class: 'impact-facts' }, rules.map((r) => h('li', {}, t(`admin.groups.right_${r.right}`), ': ',
    r.kind === 'tenant' ? t('admin.groups.kind_tenant') : r.kind === 'group' ? groupName(groups, r.id) || r.id : r.id)));
}

// editBoard creates (b null) or edits a board: name, group, rules.
function editBoard(b, groups, reload) {
  const m = modal(b ? t('admin.groups.board_edit', { name: b.name }) : t('admin.groups.board_create'), 'board-dialog', reload);
  const rows = h('div');
  const addRule = (r = { right: 'read', kind: 'tenant', id: '' }) => {
    const right = h('select', { name: 'right' }, rights.map((x) => h('option', { value: x, selected: x === r.right }, t(`admin.groups.right_${x}`))));
    const kind = h('select', { name: 'kind' }, [['tenant', t('admin.groups.kind_tenant')], ['group', t('admin.groups.kind_group')], ['member', t('admin.groups.kind_member')]].map(([v, l]) => h('option', { value: v, selected: v === r.kind }, l)));
    const group = h('select', { name: 'group' }, groups.map((g) => h('option', { value: g.id, selected: g.id === r.id }, g.name)));
    const member = h('input', { name: 'member', value: r.kind === 'member' ? r.id : '', placeholder: 'sato@example.co.jp' });
    const gf = field(t('admin.groups.kind_group'), group);
    const mf = field(t('admin.groups.kind_member'), member, t('admin.groups.member_hint'));
    const sync = () => { gf.hidden = kind.value !== 'group'; mf.hidden = kind.value !== 'member'; };
    kind.addEventListener('change', sync);
    const remove = h('button', { type: 'button', 'aria-label': t('admin.groups.rule_remove') }, '×');
    const row = h('div', { class: 'rule-row' }, field(t('admin.groups.right'), right), field(t('admin.groups.who'), kind), gf, mf, remove);
    remove.addEventListener('click', () => row.remove());
    row.rule = async () => {
      const out = { right: right.value, kind: kind.value };
      if (kind.value === 'group') out.id = group.value;
      if (kind.value === 'member') {
        const v = member.value.trim();
        out.id = v.includes('@') ? (await admin.get('/people/lookup', { id: v })).id : v;
      }
      return out;
    };
    sync();
    rows.append(row);
  };
  (b && b.rules && b.rules.length ? b.rules : [{ right: 'read', kind: 'tenant' }]).forEach(addRule);
  const more = h('button', { type: 'button' }, t('admin.groups.rule_add'));
  more.addEventListener('click', () => addRule());
  const f = form({ 'data-test': 'board-form' }, [
    field(t('admin.groups.name'), h('input', { name: 'name', required: true, value: b ? b.name : '' })),
    b ? null : field(t('admin.groups.col_board_group'), h('select', { name: 'group_id' }, groupOptions(groups, '', t('admin.groups.no_group')))),
    checkbox('allow_restricted', t('admin.groups.allow_restricted'), b && b.allow_restricted),
    h('fieldset', { class: 'radios' }, h('legend', {}, t('admin.groups.col_rules')), rows, more),
  ], t('common.save'), async (v) => {
    const rules = await Promise.all(Array.from(rows.children).map((r) => r.rule()));
    const body = { name: v.name.trim(), allow_restricted: v.allow_restricted === 'on', rules };
    if (b) await admin.put(`/boards/${enc(b.id)}`, body);
    else await admin.post('/boards', { ...body, group_id: v.group_id || undefined });
    toast(t('common.saved'));
    m.close();
  });
  const parts = [f];
  if (b) {
    const del = h('button', { type: 'button', class: 'danger' }, t('admin.groups.board_delete'));
    del.addEventListener('click', async () => {
      const ok = await confirmDialog({ title: t('admin.groups.board_delete_title', { name: b.name }), danger: true, typeToConfirm: b.name, confirmLabel: t('admin.groups.board_delete'), body: h('p', {}, t('admin.groups.board_delete_body')) });
      if (!ok) return;
      await busy(del, async () => { await admin.del(`/boards/${enc(b.id)}`); m.close(); });
    });
    parts.push(h('div', { class: 'actions admin-block' }, del));
  }
  mount(m.body, parts);
}
