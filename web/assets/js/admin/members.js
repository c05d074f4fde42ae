// Members: search and browse, add one (the initial password shown once,
// with its invitation sheet), and each member's acts: role, restriction,
// external-talk exception, reissue, suspend, restore, delete.

import { h, mount, field } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { download } from '../core/api.js';
import { currentAccount } from '../core/state.js';
import { navigate } from '../core/router.js';
import { toast, confirmDialog, emptyState, busy, form, pageHeader, pager, errorBox, loading } from '../core/ui.js';
import { admin, enc, layout, table, appendRows, statusTag, modal, credentials, showSheet, checkbox, section } from './common.js';

const PAGE = 50;

export function membersPage(params, query) {
  const content = layout('members');
  const q = query.get('q') || '';
  const addBtn = h('button', { type: 'button', class: 'primary', 'data-test': 'member-add-open', 'aria-expanded': 'false' }, t('admin.members.add'));
  const exportBtn = h('button', { type: 'button', 'data-test': 'members-export' }, t('admin.members.export'));
  exportBtn.addEventListener('click', () => busy(exportBtn, () => download('/members/export', 'kizuna-members.csv')));
  const importLink = h('a', { class: 'button', href: '#/admin/import' }, t('admin.members.import'));
  const addSlot = h('div', { class: 'add-slot' });
  const list = h('div', { class: 'member-list', 'aria-live': 'polite' });

  addBtn.addEventListener('click', () => {
    if (addSlot.firstChild) { mount(addSlot); addBtn.setAttribute('aria-expanded', 'false'); return; }
    addBtn.setAttribute('aria-expanded', 'true');
    addForm(addSlot, () => reload());
  });

  const search = h('input', { type: 'search', name: 'q', value: q, 'data-test': 'member-search', placeholder: t('admin.members.search_placeholder') });
  const searchForm = h('form', { class: 'search-bar', role: 'search' },
    field(t('admin.members.search'), search, t('admin.members.search_hint')),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', 'data-test': 'member-search-submit' }, t('common.search')),
      q ? h('a', { class: 'button', href: '#/admin/members' }, t('admin.members.clear_search')) : null));
  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = search.value.trim();
    navigate(v ? `#/admin/members?q=${enc(v)}` : '#/admin/members');
  });

  content.append(pageHeader(t('admin.members.title'), addBtn, importLink, exportBtn), addSlot, searchForm, list);

  const reload = () => (q ? searchMembers(list, q, reload) : browse(list, reload));
  reload();
}

function columns(reload) {
  const me = currentAccount();
  return [
    { label: t('admin.members.col_name'), cell: (p) => h('div', { class: 'who' }, h('strong', {}, p.display_name || '—'), h('br'), h('small', {}, p.sign_in_id)) },
    { label: t('admin.members.col_role'), cell: (p) => roleText(p.role) },
    { label: t('admin.members.col_status'), cell: (p) => [statusOf(p), p.must_change_password ? [' ', statusTag('muted', t('admin.members.awaiting_first_sign_in'))] : null] },
    {
      label: t('admin.members.col_actions'), class: 'row-actions',
      cell: (p) => h('button', {
        type: 'button', 'data-test': 'member-manage', 'data-member': p.sign_in_id,
        'aria-label': t('admin.members.manage_who', { id: p.sign_in_id }),
        onclick: () => manage(p, me, reload),
      }, t('admin.members.manage')),
    },
  ];
}

function roleText(role) {
  return role ? t(`admin.role.${role}`) : '';
}

function statusOf(p) {
  if (p.status === 'suspended') return statusTag('warn', t('admin.members.suspended'));
  return statusTag('ok', t('admin.members.active'));
}

const rowAttrs = (p) => ({ 'data-test': 'member-row', 'data-member': p.sign_in_id });

async function browse(list, reload) {
  mount(list, loading());
  try {
    const page = await admin.get('/members', { limit: PAGE });
    if (!page.items.length) { mount(list, emptyState(t('admin.members.empty'), t('admin.members.empty_hint'))); return; }
    const cols = columns(reload);
    const wrap = table(cols, page.items, { rowAttrs, label: t('admin.members.title'), test: 'members-table' });
    const more = h('div');
    const showPager = (cursor) => mount(more, pager(cursor, async (c) => {
      const next = await admin.get('/members', { limit: PAGE, cursor: c });
      appendRows(wrap, cols, next.items, { rowAttrs });
      showPager(next.next_cursor);
    }));
    showPager(page.next_cursor);
    mount(list, wrap, more);
  } catch (err) {
    mount(list, errorBox(err));
  }
}

async function searchMembers(list, q, reload) {
  mount(list, loading());
  try {
    const d = await admin.get('/directory', { q, limit: 100 });
    const people = d.people.filter((p) => p.relation === 'internal');
    if (!people.length) { mount(list, emptyState(t('admin.members.no_match', { q }), t('admin.members.no_match_hint'))); return; }
    mount(list, h('p', { class: 'hint' }, t('admin.members.matches', { count: people.length, q })),
      table(columns(reload), people, { rowAttrs, label: t('admin.members.title'), test: 'members-table' }));
  } catch (err) {
    mount(list, errorBox(err));
  }
}

async function addForm(slot, reload) {
  let domains = [];
  let tenant = null;
  try {
    [domains, tenant] = await Promise.all([admin.get('/domains').then((r) => r.items), admin.get('/tenant')]);
  } catch (err) {
    mount(slot, errorBox(err));
    return;
  }
  const typed = tenant.settings && tenant.settings.allow_typed_initial_passwords;
  const result = h('div', { 'aria-live': 'polite' });
  const f = form({ 'data-test': 'member-add', class: 'panel' }, [
    h('div', { class: 'id-row' },
      field(t('admin.members.local'), h('input', { name: 'local', required: true, autocomplete: 'off', 'data-test': 'member-local', placeholder: 'sato' }), t('admin.members.local_hint')),
      h('span', { class: 'at', 'aria-hidden': 'true' }, '@'),
      field(t('admin.members.domain'), h('select', { name: 'domain', 'data-test': 'member-domain' },
        domains.map((d) => h('option', { value: d.name }, d.display_name))))),
    field(t('admin.members.display_name'), h('input', { name: 'display_name', 'data-test': 'member-name' })),
    field(t('admin.members.role'), h('select', { name: 'role', 'data-test': 'member-role' },
      ['member', 'admin'].map((r) => h('option', { value: r }, roleText(r))))),
    typed ? field(t('admin.members.password'), h('input', { name: 'password', type: 'password', autocomplete: 'new-password', 'data-test': 'member-password' }), t('admin.members.password_hint')) : null,
    field(t('admin.members.contact_mail'), h('input', { name: 'contact_mail', type: 'email', autocomplete: 'off', 'data-test': 'member-mail' }), t('admin.members.contact_mail_hint')),
    checkbox('send_invitation', t('admin.members.send_invitation'), false, 'member-send-invitation'),
  ], t('admin.members.add_submit'), async (v, el) => {
    const body = { local: v.local.trim(), domain: v.domain, display_name: v.display_name.trim(), role: v.role };
    if (v.password) body.password = v.password;
    if (v.contact_mail) body.contact_mail = v.contact_mail.trim();
    if (v.send_invitation) body.send_invitation = true;
    const added = await admin.post('/members', body);
    el.reset();
    toast(t('admin.members.added', { id: added.member.sign_in_id }));
    mount(result, h('div', { class: 'panel added', 'data-test': 'member-added' },
      h('h2', {}, t('admin.members.added_title', { name: added.member.display_name || added.member.sign_in_id })),
      added.initial_password
        ? credentials(added.member.sign_in_id, added.initial_password, added.password_expires_at, added.sheet_ticket)
        : h('p', {}, t('admin.members.added_typed'))));
    reload();
  });
  mount(slot, h('h2', {}, t('admin.members.add_title')), f, result);
  f.querySelector('[name=local]').focus();
}

// manage opens one member's dialog.
function manage(p, me, reload) {
  const m = modal(t('admin.members.manage_title', { id: p.sign_in_id }), 'member-dialog', null);
  const self = me && me.account_id === p.id;
  const out = h('div', { 'aria-live': 'polite' });
  let changed = false;
  m.dialog.addEventListener('close', () => { if (changed) reload(); });

  // Role
  const role = h('select', { name: 'role', 'data-test': 'member-role-select', disabled: self },
    ['member', 'admin', 'owner'].map((r) => h('option', { value: r, selected: r === p.role }, roleText(r))));
  const roleSave = h('button', { type: 'button', 'data-test': 'member-role-save', disabled: self }, t('common.save'));
  const roleErr = h('div');
  roleSave.addEventListener('click', () => busy(roleSave, async () => {
    const np = await admin.patch(`/members/${enc(p.id)}`, { role: role.value });
    Object.assign(p, np);
    changed = true;
    toast(t('admin.members.role_saved', { id: p.sign_in_id, role: roleText(np.role) }));
  }, roleErr));

  // Restricted (the current state comes from view-as)
  const restricted = h('input', { type: 'checkbox', 'data-test': 'member-restricted', disabled: true });
  const restrictedErr = h('div');
  admin.get(`/members/${enc(p.id)}/view-as`).then((v) => { restricted.checked = v.restricted; restricted.disabled = self; }).catch((err) => mount(restrictedErr, errorBox(err)));
  restricted.addEventListener('change', () => busy(restricted, async () => {
    try {
      await admin.put(`/members/${enc(p.id)}/restricted`, { restricted: restricted.checked });
      changed = true;
      toast(restricted.checked ? t('admin.members.restricted_on', { id: p.sign_in_id }) : t('admin.members.restricted_off', { id: p.sign_in_id }));
    } catch (err) {
      restricted.checked = !restricted.checked;
      throw err;
    }
  }, restrictedErr));

  // External-talk exception
  const extErr = h('div');
  const ext = h('select', { 'data-test': 'member-external-talk' },
    [['', t('admin.members.external_follow')], ['allow', t('admin.members.external_allow')], ['deny', t('admin.members.external_deny')]]
      .map(([v, l]) => h('option', { value: v }, l)));
  // A search result may not carry the exception: read the member itself.
  admin.get(`/members/${enc(p.id)}`).then((m) => { ext.value = m.external_talk || ''; }).catch((err) => mount(extErr, errorBox(err)));
  const extSave = h('button', { type: 'button', 'data-test': 'member-external-save' }, t('common.save'));
  extSave.addEventListener('click', () => busy(extSave, async () => {
    await admin.put(`/members/${enc(p.id)}/external-talk`, { mode: ext.value });
    toast(t('common.saved'));
  }, extErr));

  // Password and status
  const reissue = h('button', { type: 'button', 'data-test': 'member-reissue' }, t('admin.members.reissue'));
  reissue.addEventListener('click', async () => {
    const ok = await confirmDialog({ title: t('admin.members.reissue_title'), body: h('p', {}, t('admin.members.reissue_body', { id: p.sign_in_id })), confirmLabel: t('admin.members.reissue') });
    if (!ok) return;
    await busy(reissue, async () => {
      const r = await admin.post(`/members/${enc(p.id)}/reissue`, {});
      changed = true;
      mount(out, h('div', { class: 'panel added', 'data-test': 'member-reissued' },
        h('h3', {}, t('admin.members.reissued_title')),
        credentials(r.member.sign_in_id, r.initial_password, r.password_expires_at, r.sheet_ticket)));
    }, out);
  });
  const sheetBtn = h('button', { type: 'button', 'data-test': 'member-sheet' }, t('admin.members.sheet_without_password'));
  sheetBtn.addEventListener('click', () => busy(sheetBtn, () => showSheet({ member_ids: [p.id] }), out));

  const suspended = p.status === 'suspended';
  const toggle = h('button', { type: 'button', 'data-test': suspended ? 'member-restore' : 'member-suspend', disabled: self }, suspended ? t('admin.members.restore') : t('admin.members.suspend'));
  toggle.addEventListener('click', async () => {
    const ok = suspended || await confirmDialog({ title: t('admin.members.suspend_title'), body: h('p', {}, t('admin.members.suspend_body', { id: p.sign_in_id })), confirmLabel: t('admin.members.suspend'), danger: true });
    if (!ok) return;
    await busy(toggle, async () => {
      await admin.post(`/members/${enc(p.id)}/${suspended ? 'restore' : 'suspend'}`, {});
      changed = true;
      toast(suspended ? t('admin.members.restored', { id: p.sign_in_id }) : t('admin.members.suspended_done', { id: p.sign_in_id }));
      m.close();
    }, out);
  });
  const del = h('button', { type: 'button', class: 'danger', 'data-test': 'member-delete', disabled: self }, t('admin.members.delete'));
  del.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: t('admin.members.delete_title'), danger: true, typeToConfirm: p.sign_in_id, confirmLabel: t('admin.members.delete'),
      body: h('div', {}, h('p', {}, t('admin.members.delete_body', { id: p.sign_in_id })), h('p', {}, h('a', { href: `#/admin/reclassify?member=${enc(p.sign_in_id)}`, onclick: () => m.close() }, t('admin.members.delete_handover_hint')))),
    });
    if (!ok) return;
    await busy(del, async () => {
      await admin.del(`/members/${enc(p.id)}`);
      changed = true;
      toast(t('admin.members.deleted', { id: p.sign_in_id }));
      m.close();
    }, out);
  });

  mount(m.body,
    h('p', { class: 'who' }, h('strong', {}, p.display_name), ' · ', p.sign_in_id),
    self ? h('p', { class: 'notice' }, t('admin.members.self_note')) : null,
    section(t('admin.members.role'), h('div', { class: 'inline-field' }, field(t('admin.members.role'), role), roleSave), roleErr),
    section(t('admin.members.restriction'),
      h('div', { class: 'check' }, h('label', {}, restricted, ' ', t('admin.members.restricted_label'))),
      h('small', { class: 'hint' }, t('admin.members.restricted_hint')), restrictedErr),
    section(t('admin.members.external_talk'), h('div', { class: 'inline-field' }, field(t('admin.members.external_talk'), ext, t('admin.members.external_hint')), extSave), extErr),
    section(t('admin.members.access'), h('div', { class: 'actions' }, reissue, sheetBtn, toggle, del), out));
}
