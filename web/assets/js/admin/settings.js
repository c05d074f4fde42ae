// Tenant settings: the organisation's name, initial passwords and invite
// links, and what restriction means.

import { h, mount, field } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { toast, form, pageHeader, errorBox } from '../core/ui.js';
import { admin, layout, section, checkbox } from './common.js';

export function settingsPage() {
  const content = layout('settings');
  const body = h('div');
  content.append(pageHeader(t('admin.settings.title')), body);
  draw(body);
}

async function draw(el) {
  let tenant;
  let rs;
  try {
    [tenant, rs] = await Promise.all([admin.get('/tenant'), admin.get('/tenant/restrictions')]);
  } catch (err) {
    mount(el, errorBox(err));
    return;
  }
  const s = tenant.settings || {};
  const name = form({ 'data-test': 'tenant-name', class: 'panel inline-form' }, [
    field(t('admin.settings.name'), h('input', { name: 'name', required: true, value: tenant.name, 'data-test': 'tenant-name-input' }), t('admin.settings.name_hint')),
  ], t('common.save'), async (v) => {
    await admin.patch('/tenant', { name: v.name.trim() });
    toast(t('common.saved'));
  });
  const accounts = form({ 'data-test': 'settings', class: 'panel' }, [
    field(t('admin.settings.ttl'), h('input', { name: 'ttl', type: 'number', min: '0', max: String(24 * 366), step: '1', value: String(s.initial_password_ttl_hours), 'data-test': 'settings-ttl' }), t('admin.settings.ttl_hint')),
    checkbox('typed', t('admin.settings.typed'), s.allow_typed_initial_passwords, 'settings-typed', t('admin.settings.typed_hint')),
    checkbox('invites', t('admin.settings.invites'), s.members_create_invite_links, 'settings-invites', t('admin.settings.invites_hint')),
  ], t('common.save'), async (v) => {
    await admin.patch('/tenant/settings', {
      initial_password_ttl_hours: Number(v.ttl), allow_typed_initial_passwords: v.typed === 'on', members_create_invite_links: v.invites === 'on',
    });
    toast(t('common.saved'));
  });
  const restrictions = form({ 'data-test': 'restrictions', class: 'panel' }, [
    h('p', { class: 'hint' }, t('admin.settings.restrictions_intro')),
    checkbox('hide_boards', t('admin.settings.hide_boards'), rs.hide_boards, 'restrict-boards'),
    checkbox('limit_directory', t('admin.settings.limit_directory'), rs.limit_directory, 'restrict-directory'),
    checkbox('no_invite_links', t('admin.settings.no_invite_links'), rs.no_invite_links, 'restrict-invites'),
    checkbox('no_external_contacts', t('admin.settings.no_external_contacts'), rs.no_external_contacts, 'restrict-contacts'),
  ], t('common.save'), async (v) => {
    await admin.put('/tenant/restrictions', {
      hide_boards: v.hide_boards === 'on', limit_directory: v.limit_directory === 'on',
      no_invite_links: v.no_invite_links === 'on', no_external_contacts: v.no_external_contacts === 'on',
    });
    toast(t('common.saved'));
  });
  mount(el, section(t('admin.settings.organisation'), name),
    section(t('admin.settings.accounts'), accounts),
    section(t('admin.settings.restrictions'), restrictions));
}
