// Boot: language, session, routes. The first-run setup, sign-in and
// password screens live here; the member client and the admin console
// register their own routes (client/routes.js, admin/routes.js).

import { h, mount, field } from './core/dom.js';
import { t, pickLanguage, setLanguage, errorText } from './core/i18n.js';
import { api, signIn, changePassword } from './core/api.js';
import { state, refreshAccounts, switchAccount, currentAccount, isAdmin, onChange } from './core/state.js';
import { route, setGuard, navigate, start, render, patterns } from './core/router.js';
import { form, busy } from './core/ui.js';
import { languagePicker } from './core/shell.js';
import * as stream from './core/stream.js';
import { registerClient } from './client/routes.js';
import { registerAdmin } from './admin/routes.js';

// card is the frame of the screens shown before signing in.
function card(title, ...content) {
  const app = document.getElementById('app');
  mount(app, h('div', { class: 'public' },
    h('main', { class: 'card', id: 'main' },
      h('div', { class: 'card-top' }, h('span', { class: 'brand' }, h('img', { src: '/assets/icon.svg', alt: '' }), 'Kizuna'), languagePicker()),
      h('h1', {}, title), content)));
}

function setupPage(params, query) {
  let created = null;
  const f = form({ 'data-test': 'setup' }, [
    field(t('setup.token'), h('input', { name: 'setup_token', required: true, value: query.get('token') || '', autocomplete: 'off', 'data-test': 'setup-token' }), t('setup.token_hint')),
    field(t('setup.tenant_name'), h('input', { name: 'tenant_name', required: true, 'data-test': 'setup-tenant' })),
    field(t('setup.domain'), h('input', { name: 'domain', required: true, placeholder: 'example.co.jp', 'data-test': 'setup-domain' }), t('setup.domain_hint')),
    field(t('setup.owner_local'), h('input', { name: 'owner_local', required: true, placeholder: 'admin', autocomplete: 'off', 'data-test': 'setup-owner' })),
    field(t('setup.owner_name'), h('input', { name: 'owner_display_name', 'data-test': 'setup-owner-name' })),
    field(t('setup.owner_password'), h('input', { name: 'owner_password', type: 'password', autocomplete: 'new-password', 'data-test': 'setup-password' }), t('setup.owner_password_hint')),
  ], t('setup.submit'), async (v) => {
    created = created || await api.post('/setup', v);
    if (!created.initial_password) {
      await signIn(created.owner.sign_in_id, v.owner_password);
      await afterSignIn(created.owner.id);
      return;
    }
    // A generated password is shown once, here: the owner needs it for
    // the first sign-in, where it must be replaced.
    const go = h('button', { type: 'button', class: 'primary', 'data-test': 'setup-continue' }, t('setup.continue'));
    go.addEventListener('click', () => busy(go, async () => {
      await signIn(created.owner.sign_in_id, created.initial_password);
      await afterSignIn(created.owner.id);
    }));
    card(t('setup.done_title'),
      h('p', {}, t('setup.done_intro', { tenant: created.tenant.name })),
      h('dl', { class: 'credentials' },
        h('dt', {}, t('signin.id')), h('dd', { 'data-test': 'setup-owner-id' }, created.owner.sign_in_id),
        h('dt', {}, t('setup.initial_password')), h('dd', {}, h('code', { 'data-test': 'setup-initial-password' }, created.initial_password))),
      h('p', { class: 'notice' }, t('setup.initial_password_note')),
      h('div', { class: 'actions' }, go));
  });
  card(t('setup.title'), h('p', {}, t('setup.intro')), f);
}

function signInPage(params, query) {
  const adding = query.get('add') === '1' && state.accounts.length > 0;
  const f = form({ 'data-test': 'signin' }, [
    field(t('signin.id'), h('input', { name: 'id', required: true, autocomplete: 'username', inputmode: 'email', placeholder: 'name@example.co.jp', 'data-test': 'signin-id', value: query.get('id') || '' })),
    field(t('signin.password'), h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password', 'data-test': 'signin-password' })),
  ], adding ? t('signin.add_submit') : t('signin.submit'), async (v) => {
    const acct = await signIn(v.id.trim(), v.password);
    await afterSignIn(acct.account_id);
  });
  card(adding ? t('signin.add_title') : t('signin.title'),
    adding ? h('p', {}, t('signin.add_intro', { count: state.accounts.length })) : null,
    f,
    adding ? h('p', {}, h('a', { href: '#/app' }, t('signin.back'))) : null);
}

async function afterSignIn(accountId) {
  await refreshAccounts();
  switchAccount(accountId);
  stream.sync();
  connectStream();
  navigate(currentAccount() && currentAccount().password_change_required ? '#/password' : '#/app');
}

function passwordPage() {
  const me = currentAccount();
  const forced = me.password_change_required;
  const f = form({ 'data-test': 'password' }, [
    field(forced ? t('password.initial') : t('password.current'), h('input', { name: 'current', type: 'password', required: true, autocomplete: 'current-password', 'data-test': 'password-current' })),
    field(t('password.new'), h('input', { name: 'next', type: 'password', required: true, autocomplete: 'new-password', 'data-test': 'password-new' }), t('password.rules')),
    field(t('password.repeat'), h('input', { name: 'repeat', type: 'password', required: true, autocomplete: 'new-password', 'data-test': 'password-repeat' })),
  ], t('password.submit'), async (v) => {
    if (v.next !== v.repeat) throw { code: 'passwords_differ', message: t('password.differ') };
    await changePassword(me.account_id, v.current, v.next);
    await afterSignIn(me.account_id);
  });
  card(forced ? t('password.forced_title') : t('password.title'),
    h('p', { class: 'who' }, me.display_name, ' · ', me.sign_in_id),
    forced ? h('p', { class: 'notice' }, t('password.forced_intro')) : null,
    f,
    forced ? null : h('p', {}, h('a', { href: '#/app' }, t('common.cancel'))));
}

// connectStream opens the browser's one event stream as any account past
// its password change.
function connectStream() {
  const ready = state.accounts.find((a) => !a.password_change_required);
  if (ready) stream.connect(ready.account_id);
  else stream.disconnect();
}

stream.onFrame(async (f) => {
  if (f.type === 'closed' && f.code === 4001) {
    await refreshAccounts();
    connectStream();
    render();
  }
});

async function boot() {
  await setLanguage(pickLanguage());
  try {
    await refreshAccounts();
  } catch (err) {
    mount(document.getElementById('app'), h('p', { class: 'error', role: 'alert' }, errorText(err)));
    return;
  }
  connectStream();
  route('/setup', setupPage, { public: true });
  route('/signin', signInPage, { public: true });
  route('/password', passwordPage);
  registerClient(route);
  registerAdmin(route);
  route('/', () => navigate(state.accounts.length ? '#/app' : '#/signin', true), { public: true });
  setGuard((r, path) => {
    if (r.public) return null;
    const me = currentAccount();
    if (!me) return '#/signin';
    if (me.password_change_required && path !== '/password') return '#/password';
    if (path.startsWith('/admin') && !isAdmin(me)) return '#/app';
    return null;
  });
  onChange((what) => { if (what === 'account') render(); });
  window.kizunaRoutes = patterns();
  await start();
}

boot();
