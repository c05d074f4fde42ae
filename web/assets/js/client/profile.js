// Profile: who I am on this account (ID, name, organisation) and the way
// to change my password.

import { api } from '../core/api.js';
import { h, mount } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { currentAccount } from '../core/state.js';
import { loading, errorBox } from '../core/ui.js';
import { page } from './common.js';

export function profilePage() {
  const body = page('profile');
  const me = currentAccount();
  let alive = true;
  mount(body, h('header', { class: 'page-header' }, h('h1', {}, t('client.profile'))), loading());
  api.get('/me').then((res) => {
    if (!alive) return;
    const a = res.account || {};
    const kind = a.kind === 'personal' ? t('client.kind_personal') : t('client.kind_member');
    const role = { owner: t('client.role_owner'), admin: t('client.role_admin'), member: t('client.role_member') }[a.role] || null;
    mount(body,
      h('header', { class: 'page-header' }, h('h1', {}, t('client.profile'))),
      h('section', { class: 'profile', 'data-test': 'profile' },
        h('div', { class: 'profile-top' },
          h('span', { class: 'avatar large', 'aria-hidden': 'true' }, (a.display_name || a.sign_in_id || '?').slice(0, 1)),
          h('div', {}, h('strong', { class: 'profile-name', 'data-test': 'profile-name' }, a.display_name || a.sign_in_id), h('br'), h('small', {}, kind))),
        h('dl', { class: 'credentials' },
          h('dt', {}, t('client.profile_id')), h('dd', { 'data-test': 'profile-id' }, h('code', {}, a.sign_in_id || me.sign_in_id)),
          h('dt', {}, t('client.profile_name')), h('dd', {}, a.display_name || '—'),
          h('dt', {}, t('client.profile_tenant')), h('dd', { 'data-test': 'profile-tenant' }, (a.tenant && a.tenant.name) || me.tenant_name || t('client.profile_no_tenant')),
          role ? h('dt', {}, t('client.profile_role')) : null, role ? h('dd', {}, role) : null),
        h('div', { class: 'actions' },
          h('a', { href: '#/password', class: 'button', 'data-test': 'change-password' }, t('client.change_password')))));
  }).catch((err) => { if (alive) mount(body, errorBox(err)); });
  return () => { alive = false; };
}
