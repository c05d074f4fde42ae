// Groups and boards: the groups I belong to (and the tenant's others I may
// see), the boards I may read, their posts (pinned first), comments, and
// marking a must-read post as read.

import { api } from '../core/api.js';
import { h, mount, field } from '../core/dom.js';
import { t, formatTime } from '../core/i18n.js';
import { state } from '../core/state.js';
import { emptyState, loading, errorBox, busy, form, pager, toast } from '../core/ui.js';
import { page } from './common.js';

// A personal account belongs to no tenant: groups and boards are not for it.
const personalNote = (err) => (err && err.code === 'member_required' ? h('p', { class: 'notice', 'data-test': 'personal-note' }, t('client.groups_personal')) : errorBox(err));

// authors caches the names of post and comment authors.
const authors = new Map();
async function authorName(id) {
  if (id === state.current) return t('client.you');
  const key = `${state.current}:${id}`;
  if (!authors.has(key)) {
    authors.set(key, api.get(`/members/${encodeURIComponent(id)}`).then((p) => p.display_name || p.sign_in_id).catch(() => t('client.former_member')));
  }
  return authors.get(key);
}
function author(id) {
  const el = h('span', { class: 'author' }, '…');
  authorName(id).then((n) => { el.textContent = n; });
  return el;
}

// withRoles adds my role to each group: the list does not carry it, a
// group's own answer does. A few requests at a time, and only for the
// first 200 groups of a very large tenant.
async function withRoles(groups) {
  const out = groups.map((g) => ({ ...g }));
  let next = 0;
  async function worker() {
    while (next < Math.min(out.length, 200)) {
      const g = out[next++];
      if (g.my_role) continue;
      try { g.my_role = (await api.get(`/groups/${encodeURIComponent(g.id)}`)).my_role || ''; } catch { /* hidden since: leave it */ }
    }
  }
  await Promise.all([1, 2, 3, 4, 5, 6].map(worker));
  return out;
}

export function groupsPage() {
  const body = page('groups');
  const groups = h('section', { 'data-test': 'groups', 'aria-labelledby': 'groups-h' });
  const boards = h('section', { 'data-test': 'boards', 'aria-labelledby': 'boards-h' });
  body.append(h('header', { class: 'page-header' }, h('h1', {}, t('client.groups_title'))), h('div', { class: 'two-col' }, groups, boards));
  mount(groups, h('h2', { id: 'groups-h' }, t('client.my_groups')), loading());
  mount(boards, h('h2', { id: 'boards-h' }, t('client.boards')), loading());
  let alive = true;
  api.get('/groups').then(async (p) => {
    if (!alive) return;
    const all = await withRoles(p.items || []);
    if (!alive) return;
    const mine = all.filter((g) => g.my_role);
    const others = all.filter((g) => !g.my_role);
    const item = (g) => h('li', { class: 'group', 'data-test': 'group' },
      h('strong', {}, g.name), ' ',
      g.my_role ? h('span', { class: 'tag' }, g.my_role === 'manager' ? t('client.group_manager') : t('client.group_member')) : null,
      h('small', {}, ' ', t('client.members_count', { count: g.member_count })),
      g.room_id && g.my_role ? h('a', { href: `#/app/rooms/${encodeURIComponent(g.room_id)}`, class: 'button small', 'data-test': 'group-room' }, t('client.group_room')) : null);
    mount(groups, h('h2', { id: 'groups-h' }, t('client.my_groups')),
      mine.length ? h('ul', { class: 'groups' }, mine.map(item)) : emptyState(t('client.no_groups'), t('client.no_groups_text')),
      others.length ? h('details', { class: 'other-groups' }, h('summary', {}, t('client.other_groups', { count: others.length })), h('ul', { class: 'groups' }, others.map(item))) : null);
  }).catch((err) => { if (alive) mount(groups, h('h2', { id: 'groups-h' }, t('client.my_groups')), personalNote(err)); });
  api.get('/boards').then((p) => {
    if (!alive) return;
    const items = p.items || [];
    mount(boards, h('h2', { id: 'boards-h' }, t('client.boards')),
      items.length
        ? h('ul', { class: 'boards' }, items.map((b) => h('li', {},
          h('a', { href: `#/app/boards/${encodeURIComponent(b.id)}`, class: 'board-link', 'data-test': 'board-link', 'data-name': b.name }, b.name),
          b.can_write ? h('small', {}, ' · ', t('client.board_can_write')) : null)))
        : emptyState(t('client.no_boards'), t('client.no_boards_text')));
  }).catch((err) => { if (alive) mount(boards, h('h2', { id: 'boards-h' }, t('client.boards')), personalNote(err)); });
  return () => { alive = false; };
}

function postFlags(p) {
  return [
    p.pinned ? h('span', { class: 'tag pinned', 'data-test': 'post-pinned' }, t('client.pinned')) : null,
    p.must_read ? h('span', { class: ['tag', p.read_by_me ? 'done' : 'must-read'], 'data-test': 'post-must-read' }, p.read_by_me ? t('client.read_done') : t('client.must_read')) : null,
  ];
}

function readButton(boardID, p, after) {
  if (!p.must_read || p.read_by_me) return null;
  const b = h('button', { type: 'button', class: 'primary', 'data-test': 'post-mark-read' }, t('client.mark_read'));
  b.addEventListener('click', () => busy(b, async () => {
    await api.post(`/boards/${encodeURIComponent(boardID)}/posts/${encodeURIComponent(p.id)}/read`, {});
    toast(t('client.marked_read'));
    after();
  }));
  return b;
}

export function boardPage(params) {
  const body = page('groups');
  const boardID = params.id;
  let alive = true;
  mount(body, loading());
  (async () => {
    let board;
    try {
      board = await api.get(`/boards/${encodeURIComponent(boardID)}`);
    } catch (err) {
      if (alive) mount(body, h('a', { href: '#/app/groups', class: 'back' }, '← ', t('client.back_to_groups')), errorBox(err));
      return;
    }
    if (!alive) return;
    const posts = h('ul', { class: 'posts', 'data-test': 'posts' });
    const more = h('div');
    const write = board.can_write ? h('details', { class: 'new-post', 'data-test': 'new-post-toggle' }, h('summary', {}, t('client.new_post')),
      form({ 'data-test': 'new-post', class: 'compact' }, [
        field(t('client.post_title'), h('input', { name: 'title', required: true, 'data-test': 'post-title' })),
        field(t('client.post_body'), h('textarea', { name: 'body', rows: 5, 'data-test': 'post-body' })),
        board.can_manage ? h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'pinned', value: '1', 'data-test': 'post-pin' }), ' ', t('client.post_pin')) : null,
        board.can_manage ? h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'must_read', value: '1', 'data-test': 'post-must-read-check' }), ' ', t('client.post_must_read')) : null,
      ], t('client.post_submit'), async (v, el) => {
        await api.post(`/boards/${encodeURIComponent(boardID)}/posts`, { title: v.title.trim(), body: v.body, pinned: !!v.pinned, must_read: !!v.must_read });
        el.reset();
        el.closest('details').open = false;
        load();
      })) : null;
    mount(body,
      h('a', { href: '#/app/groups', class: 'back', 'data-test': 'back-to-groups' }, '← ', t('client.back_to_groups')),
      h('header', { class: 'page-header' }, h('h1', { 'data-test': 'board-title' }, board.name)),
      write, posts, more);

    function postItem(p) {
      return h('li', { class: 'post', 'data-test': 'post' },
        h('div', { class: 'post-head' },
          h('a', { href: `#/app/boards/${encodeURIComponent(boardID)}/posts/${encodeURIComponent(p.id)}`, 'data-test': 'post-link' }, h('strong', {}, p.title)),
          ' ', postFlags(p)),
        h('small', {}, author(p.author_id), ' · ', formatTime(p.created_at), ' · ', t('client.comments_count', { count: p.comments }),
          p.must_read ? ` · ${t('client.readers_count', { count: p.readers })}` : ''),
        h('div', { class: 'actions' }, readButton(boardID, p, load)));
    }
    let shown = [];
    async function load(cursor) {
      try {
        const pg = await api.get(`/boards/${encodeURIComponent(boardID)}/posts`, { query: { limit: 20, cursor } });
        if (!alive) return;
        shown = cursor ? shown.concat(pg.items || []) : (pg.items || []);
        mount(posts, shown.length ? shown.map(postItem) : h('li', {}, emptyState(t('client.no_posts'), null)));
        mount(more, pager(pg.next_cursor, load));
      } catch (err) {
        if (alive) mount(posts, h('li', {}, errorBox(err)));
      }
    }
    mount(posts, h('li', {}, loading()));
    load();
  })();
  return () => { alive = false; };
}

export function postPage(params) {
  const body = page('groups');
  const { id: boardID, post: postID } = params;
  let alive = true;
  const path = `/boards/${encodeURIComponent(boardID)}/posts/${encodeURIComponent(postID)}`;
  async function load() {
    try {
      const p = await api.get(path);
      if (!alive) return;
      const commentForm = form({ 'data-test': 'comment', class: 'compact' }, [
        field(t('client.comment_label'), h('textarea', { name: 'body', rows: 3, required: true, 'data-test': 'comment-body' })),
      ], t('client.comment_submit'), async (v) => {
        await api.post(`${path}/comments`, { body: v.body });
        load();
      });
      mount(body,
        h('a', { href: `#/app/boards/${encodeURIComponent(boardID)}`, class: 'back', 'data-test': 'back-to-board' }, '← ', t('client.back_to_board')),
        h('article', { class: 'post-detail', 'data-test': 'post-detail' },
          h('header', { class: 'page-header' }, h('h1', {}, p.title), h('div', { class: 'actions' }, postFlags(p))),
          h('small', {}, author(p.author_id), ' · ', formatTime(p.created_at), p.must_read ? ` · ${t('client.readers_count', { count: p.readers })}` : ''),
          h('p', { class: 'post-body' }, p.body),
          h('div', { class: 'actions' }, readButton(boardID, p, load))),
        h('section', { class: 'comments', 'aria-labelledby': 'comments-h' },
          h('h2', { id: 'comments-h' }, t('client.comments_count', { count: (p.comment_items || []).length })),
          h('ul', { class: 'comment-list', 'data-test': 'comments' }, (p.comment_items || []).map((c) => h('li', { class: 'comment', 'data-test': 'comment-item' },
            h('small', {}, author(c.author_id), ' · ', formatTime(c.created_at)), h('p', {}, c.body)))),
          commentForm));
    } catch (err) {
      if (alive) mount(body, h('a', { href: `#/app/boards/${encodeURIComponent(boardID)}`, class: 'back' }, '← ', t('client.back_to_board')), errorBox(err));
    }
  }
  mount(body, loading());
  load();
  return () => { alive = false; };
}
