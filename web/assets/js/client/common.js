// Pieces the member client's screens share: the client's own navigation
// and how a person's relation to the
// viewer is shown (label, reason, the external mark).

import { h } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { frame } from '../core/shell.js';

const sections = [
  { id: 'rooms', href: '#/app', label: () => t('client.nav_rooms') },
  { id: 'contacts', href: '#/app/contacts', label: () => t('client.nav_contacts') },
  { id: 'groups', href: '#/app/groups', label: () => t('client.nav_groups') },
  { id: 'profile', href: '#/app/profile', label: () => t('client.nav_profile') },
];

// page mounts the client frame with its section navigation and returns
// the element a screen draws into.
export function page(section, extraClass) {
  const main = frame('client');
  const nav = h('nav', { class: 'client-nav', 'aria-label': t('client.nav_label') },
    sections.map((s) => h('a', {
      href: s.href, class: s.id === section ? 'active' : '', 'aria-current': s.id === section ? 'page' : null, 'data-test': `client-nav-${s.id}`,
    }, s.label())));
  const body = h('div', { class: ['client-body'].concat(extraClass || []) });
  main.append(nav, body);
  return body;
}

// relationLabel names how a person stands to the viewer.
export function relationLabel(relation) {
  switch (relation) {
    case 'internal': return t('client.relation_internal');
    case 'external_member': return t('client.relation_external_member');
    case 'external_personal': return t('client.relation_external_personal');
    default: return relation || '';
  }
}

export const isExternal = (p) => !!p && !!p.relation && p.relation !== 'internal';

// externalMark is the small "external" tag next to rooms and people
// outside the viewer's tenant.
export function externalMark(title) {
  return h('span', { class: 'external-mark', 'data-test': 'external-mark', title: title || null }, t('client.external'));
}

// relationTag shows a person's relation with its reason, so nobody has to
// guess why someone counts as internal or external.
export function relationTag(p) {
  return h('span', { class: ['relation', isExternal(p) ? 'relation-external' : 'relation-internal'], 'data-test': 'relation', title: p.relation_reason || null },
    relationLabel(p.relation));
}

export function personLine(p, ...extra) {
  return h('div', { class: 'person' },
    h('span', { class: 'avatar', 'aria-hidden': 'true' }, (p.display_name || p.sign_in_id || '?').slice(0, 1)),
    h('div', { class: 'person-text' },
      h('div', { class: 'person-name' }, h('strong', {}, p.display_name || p.sign_in_id), ' ', isExternal(p) ? externalMark(p.relation_reason) : null),
      h('small', { class: 'person-id' }, p.sign_in_id, p.tenant && p.tenant.name ? ` · ${p.tenant.name}` : ''),
      p.relation_reason ? h('small', { class: 'relation-reason', 'data-test': 'relation-reason' }, relationLabel(p.relation), ': ', p.relation_reason) : null),
    extra.length ? h('div', { class: 'person-actions actions' }, extra) : null);
}

// newClientMsgID makes a client_msg_id: random, so a retry of the same
// message can reuse it. crypto.randomUUID needs a secure context; a
// server reached over plain http on a LAN is not one.
export function newClientMsgID() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// splitIDs reads a list of IDs typed with commas, spaces or new lines.
export const splitIDs = (s) => String(s || '').split(/[\s,、，]+/).map((x) => x.trim()).filter(Boolean);
