// Contacts: colleagues (the directory, internal) and external contacts,
// each with the reason for its label; asking for an external contact by
// ID or by contact code, the pending states while someone must accept or
// admins must approve, and answering incoming requests.

import { api } from '../core/api.js';
import { h, mount, field } from '../core/dom.js';
import { t, formatTime } from '../core/i18n.js';
import { navigate } from '../core/router.js';
import { toast, confirmDialog, emptyState, loading, errorBox, busy, form } from '../core/ui.js';
import * as stream from '../core/stream.js';
import { page, personLine, relationTag } from './common.js';

export function contactsPage(params, query) {
  const tab = query.get('tab') === 'internal' ? 'internal' : 'external';
  const body = page('contacts');
  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('client.contacts') },
    tabButton('external', t('client.tab_external')), tabButton('internal', t('client.tab_internal')));
  const panel = h('div', { role: 'tabpanel', id: 'contacts-panel', 'aria-labelledby': `tab-${tab}`, 'data-test': `contacts-${tab}` });
  body.append(h('header', { class: 'page-header' }, h('h1', {}, t('client.contacts'))), tabs, panel);

  function tabButton(id, label) {
    const selected = id === tab;
    const b = h('button', {
      type: 'button', role: 'tab', id: `tab-${id}`, 'aria-selected': selected ? 'true' : 'false', 'aria-controls': 'contacts-panel',
      tabindex: selected ? '0' : '-1', 'data-test': `tab-${id}`,
      onclick: () => navigate(`#/app/contacts?tab=${id}`),
    }, label);
    // Arrow keys move between tabs, as in any tab list.
    b.addEventListener('keydown', (ev) => {
      if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') navigate(`#/app/contacts?tab=${id === 'internal' ? 'external' : 'internal'}`);
    });
    return b;
  }

  if (tab === 'internal') return internalTab(panel);
  return externalTab(panel);
}

async function openDirect(button, id) {
  await busy(button, async () => {
    const r = await api.post('/rooms/direct', { with: id });
    navigate(`#/app/rooms/${encodeURIComponent(r.id)}`);
  });
}

function talkButton(p) {
  const b = h('button', { type: 'button', 'data-test': 'contact-talk' }, t('client.talk'));
  b.addEventListener('click', () => openDirect(b, p.id));
  return b;
}

function internalTab(panel) {
  const results = h('div', { 'data-test': 'directory-results' });
  const q = h('input', { type: 'search', name: 'q', autocomplete: 'off', 'data-test': 'directory-q', placeholder: t('client.directory_placeholder') });
  const f = h('form', { class: 'search', role: 'search' }, field(t('client.directory_search'), q, t('client.directory_hint')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', 'data-test': 'directory-submit' }, t('common.search'))));
  let alive = true;
  async function search() {
    mount(results, loading());
    try {
      const d = await api.get('/directory', { query: { q: q.value.trim(), limit: 50 } });
      if (!alive) return;
      const people = d.people || [];
      mount(results,
        d.limited ? h('p', { class: 'notice' }, t('client.directory_limited')) : null,
        people.length
          ? h('ul', { class: 'people' }, people.map((p) => h('li', { 'data-test': 'person' }, personLine(p, relationTag(p), talkButton(p)))))
          : emptyState(t('client.directory_empty'), null));
    } catch (err) {
      if (!alive) return;
      mount(results, err.code === 'member_required' ? h('p', { class: 'notice' }, t('client.directory_personal')) : errorBox(err));
    }
  }
  f.addEventListener('submit', (ev) => { ev.preventDefault(); search(); });
  mount(panel, h('p', { class: 'hint' }, t('client.internal_intro')), f, results);
  search();
  return () => { alive = false; };
}

// statusText says where a contact stands and who must act next.
function statusText(c) {
  if (c.expired) return t('client.contact_expired');
  switch (c.status) {
    case 'accepted': return t('client.contact_accepted');
    case 'declined': return t('client.contact_declined');
    case 'awaiting_acceptance':
      return c.direction === 'incoming' ? t('client.contact_incoming') : t('client.contact_awaiting_acceptance');
    case 'awaiting_approval':
      return c.approval_stage === 'request' && c.direction === 'outgoing'
        ? t('client.contact_awaiting_our_approval')
        : t('client.contact_awaiting_approval', { tenant: c.approver_tenant || t('client.their_admins') });
    default: return c.status;
  }
}

function externalTab(panel) {
  const list = h('div', { 'data-test': 'contact-list' });
  const codeSlot = h('div');
  let alive = true;

  const mode = { value: 'id' };
  const idInput = h('input', { name: 'value', required: true, autocomplete: 'off', 'data-test': 'contact-add-value', placeholder: 'name@partner.co.jp' });
  const label = h('label', { for: 'contact-add-value' }, t('client.contact_add_id'));
  idInput.id = 'contact-add-value';
  const hint = h('small', { class: 'hint', id: 'contact-add-hint' }, t('client.contact_add_id_hint'));
  idInput.setAttribute('aria-describedby', hint.id);
  const radios = h('fieldset', { class: 'radios' }, h('legend', {}, t('client.contact_add_how')),
    ['id', 'code'].map((m) => h('label', {}, h('input', {
      type: 'radio', name: 'how', value: m, checked: m === 'id', 'data-test': `contact-add-by-${m}`,
      onchange: () => {
        mode.value = m;
        label.textContent = m === 'id' ? t('client.contact_add_id') : t('client.contact_add_code');
        hint.textContent = m === 'id' ? t('client.contact_add_id_hint') : t('client.contact_add_code_hint');
        idInput.placeholder = m === 'id' ? 'name@partner.co.jp' : 'XXXX-XXXX-XXXX-XXXX';
      },
    }), ' ', m === 'id' ? t('client.by_id') : t('client.by_code'))));
  const addForm = form({ 'data-test': 'contact-add', class: 'compact' },
    [radios, h('div', { class: 'field' }, label, idInput, hint)], t('client.contact_add_submit'), async (v) => {
      const value = v.value.trim();
      const c = await api.post('/contacts', mode.value === 'id' ? { id: value } : { code: value });
      idInput.value = '';
      toast(t('client.contact_added', { name: c.person.display_name || c.person.sign_in_id, status: statusText(c) }));
      load();
    });

  const codeBtn = h('button', { type: 'button', 'data-test': 'contact-code-new' }, t('client.contact_code_new'));
  codeBtn.addEventListener('click', async () => {
    const ok = await confirmDialog({ title: t('client.contact_code_title'), body: h('p', {}, t('client.contact_code_body')), confirmLabel: t('client.contact_code_make') });
    if (!ok) return;
    const c = await busy(codeBtn, () => api.post('/me/contact-code', {}));
    if (c) {
      mount(codeSlot, h('div', { class: 'notice', role: 'status' },
        h('p', {}, t('client.contact_code_shown')), h('code', { class: 'contact-code', 'data-test': 'contact-code' }, c.code)));
    }
  });

  async function load() {
    try {
      const p = await api.get('/contacts', { query: { limit: 200 } });
      if (!alive) return;
      const items = p.items || [];
      const incoming = items.filter((c) => c.direction === 'incoming' && c.status === 'awaiting_acceptance' && !c.expired);
      const rest = items.filter((c) => !incoming.includes(c));
      mount(list,
        incoming.length ? h('section', { class: 'incoming', 'data-test': 'incoming' },
          h('h2', {}, t('client.contacts_incoming', { count: incoming.length })),
          h('ul', { class: 'people' }, incoming.map(contactItem))) : null,
        h('h2', {}, t('client.contacts_external')),
        rest.length ? h('ul', { class: 'people' }, rest.map(contactItem)) : emptyState(t('client.no_contacts'), t('client.no_contacts_text')));
    } catch (err) {
      if (alive) mount(list, errorBox(err));
    }
  }

  function contactItem(c) {
    const acts = [];
    if (c.direction === 'incoming' && c.status === 'awaiting_acceptance' && !c.expired) {
      acts.push(act('contact-accept', 'primary', t('client.accept'), () => api.post(`/contacts/${c.id}/accept`, {})));
      acts.push(act('contact-decline', '', t('client.decline'), () => api.post(`/contacts/${c.id}/decline`, {})));
    }
    if (c.status === 'accepted' && !c.expired) acts.push(talkButton(c.person));
    const rm = h('button', { type: 'button', class: 'link danger-link', 'data-test': 'contact-remove' }, t('client.contact_remove'));
    rm.addEventListener('click', async () => {
      const ok = await confirmDialog({ title: t('client.contact_remove_title'), body: h('p', {}, t('client.contact_remove_body', { name: c.person.display_name || c.person.sign_in_id })), confirmLabel: t('client.contact_remove'), danger: true });
      if (ok) await busy(rm, async () => { await api.del(`/contacts/${c.id}`); load(); });
    });
    acts.push(rm);
    const pending = c.status === 'awaiting_acceptance' || c.status === 'awaiting_approval';
    return h('li', { class: ['contact', `contact-${c.status}`], 'data-test': 'contact', 'data-status': c.status, 'data-person': c.person.sign_in_id },
      personLine(c.person, ...acts),
      h('p', { class: ['contact-status', pending ? 'pending' : ''], 'data-test': 'contact-status' },
        statusText(c), c.expires_at ? ` · ${t('client.contact_until', { time: formatTime(c.expires_at) })}` : ''));
  }

  function act(name, cls, text, fn) {
    const b = h('button', { type: 'button', class: cls, 'data-test': name }, text);
    b.addEventListener('click', () => busy(b, async () => {
      const c = await fn();
      if (c && c.status) toast(statusText(c));
      load();
    }));
    return b;
  }

  const off = stream.onFrame((f) => {
    if (f.type === 'notice' && (f.kind === 'contact.updated' || f.kind === 'contact.deleted' || f.kind === 'people.reclassified')) load();
  });

  mount(panel,
    h('p', { class: 'hint' }, t('client.external_intro')),
    h('details', { class: 'add-contact', 'data-test': 'contact-add-toggle', open: true }, h('summary', {}, t('client.contact_add_title')), addForm),
    h('div', { class: 'actions' }, codeBtn), codeSlot,
    list);
  mount(list, loading());
  load();
  return () => { alive = false; off(); };
}
