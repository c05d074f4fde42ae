// Rooms: the list (unread counts, the external mark, starting a talk) and
// the room view (history with infinite scroll back, live messages from the
// stream, send, reply, edit, delete, read counts, members and their
// relation, the read-only state a policy may impose). On a wide screen the
// two sit side by side; on a phone the list and the room stack.

import { api } from '../core/api.js';
import { h, mount, field } from '../core/dom.js';
import { t, errorText, formatTime } from '../core/i18n.js';
import { state } from '../core/state.js';
import { navigate } from '../core/router.js';
import { toast, confirmDialog, emptyState, loading, errorBox, busy, form } from '../core/ui.js';
import * as stream from '../core/stream.js';
import { page, externalMark, personLine, relationTag, isExternal, newClientMsgID, splitIDs } from './common.js';
import { schedule as scheduleUnread } from './unread.js';

const PAGE = 30;

export function roomsPage(params) {
  const roomID = params.id || null;
  const body = page('rooms', ['rooms-split', roomID ? 'has-room' : 'no-room']);
  const listPane = h('aside', { class: 'room-list-pane', 'aria-label': t('client.rooms') });
  const roomPane = h('section', { class: 'room-pane', 'aria-label': t('client.room') });
  body.append(listPane, roomPane);
  const list = roomList(listPane, roomID);
  let view = null;
  if (roomID) view = roomView(roomPane, roomID, list);
  else mount(roomPane, emptyState(t('client.pick_room'), t('client.pick_room_text')));
  return () => { list.destroy(); if (view) view.destroy(); };
}

// roomName is what a room is called on screen: a direct room by the
// other person.
function roomName(r) {
  if (r.kind === 'direct' && r.peer) return r.peer.display_name || r.peer.sign_in_id;
  return r.name || t('client.unnamed_room');
}

function roomList(pane, selected) {
  const items = h('ul', { class: 'room-list', 'data-test': 'room-list' });
  const more = h('div');
  const status = h('div');
  let rooms = [];
  let cursor = '';
  let alive = true;

  mount(pane,
    h('header', { class: 'page-header' }, h('h1', {}, t('client.rooms'))),
    newRoomForms(),
    status, items, more);

  function draw() {
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.room : null;
    if (!rooms.length) {
      mount(items, h('li', {}, emptyState(t('client.no_rooms'), t('client.no_rooms_text'))));
    } else {
      mount(items, rooms.map((r) => h('li', {},
        h('a', {
          href: `#/app/rooms/${encodeURIComponent(r.id)}`, class: ['room-item', r.id === selected ? 'selected' : '', r.unread ? 'has-unread' : ''],
          'data-test': 'room-item', 'data-room': r.id, 'data-name': roomName(r), 'aria-current': r.id === selected ? 'page' : null,
        },
        h('span', { class: 'avatar', 'aria-hidden': 'true' }, roomName(r).slice(0, 1)),
        h('span', { class: 'room-item-text' },
          h('span', { class: 'room-item-name' }, h('strong', {}, roomName(r)), ' ', r.external ? externalMark(t('client.external_count', { count: r.external_count })) : null),
          h('small', {}, r.kind === 'direct' ? t('client.direct') : t('client.members_count', { count: r.member_count }),
            r.read_only ? ` · ${t('client.read_only_short')}` : '')),
        r.unread ? h('span', { class: 'badge', 'data-test': 'room-unread', 'aria-label': t('common.unread_count', { count: r.unread }) }, r.unread > 99 ? '99+' : String(r.unread)) : null))));
    }
    if (focused) {
      const el = items.querySelector(`[data-room="${CSS.escape(focused)}"]`);
      if (el) el.focus();
    }
    mount(more, cursor ? loadMoreButton() : null);
  }

  function loadMoreButton() {
    const b = h('button', { type: 'button', 'data-test': 'rooms-more' }, t('common.load_more'));
    b.addEventListener('click', () => busy(b, async () => {
      const p = await api.get('/rooms', { query: { cursor, limit: 50 } });
      rooms = rooms.concat(p.items || []);
      cursor = p.next_cursor || '';
      draw();
    }));
    return h('div', { class: 'pager' }, b);
  }

  async function load() {
    try {
      // Re-read as many rooms as are on screen, so live updates keep
      // what "Load more" brought.
      const p = await api.get('/rooms', { query: { limit: Math.max(50, Math.min(rooms.length, 200)) } });
      if (!alive) return;
      rooms = p.items || [];
      cursor = p.next_cursor || '';
      mount(status);
      draw();
    } catch (err) {
      if (alive) mount(status, errorBox(err));
    }
  }

  let timer = null;
  const reload = () => { clearTimeout(timer); timer = setTimeout(load, 200); };
  const off = stream.onFrame((f) => {
    if (f.type === 'event' || f.type === 'hello' || f.type === 'room.reset' || (f.type === 'notice' && f.kind === 'people.reclassified')) reload();
  });

  mount(items, h('li', {}, loading()));
  load();
  return { reload, destroy() { alive = false; off(); clearTimeout(timer); } };
}

// newRoomForms: a direct talk with someone by ID, or a named group room.
function newRoomForms() {
  const direct = form({ 'data-test': 'new-direct', class: 'compact' }, [
    field(t('client.direct_with'), h('input', { name: 'with', required: true, autocomplete: 'off', inputmode: 'email', placeholder: 'name@example.co.jp', 'data-test': 'new-direct-id' }), t('client.direct_with_hint')),
  ], t('client.start_direct'), async (v) => {
    const r = await api.post('/rooms/direct', { with: v.with.trim() });
    navigate(`#/app/rooms/${encodeURIComponent(r.id)}`);
  });
  const group = form({ 'data-test': 'new-group', class: 'compact' }, [
    field(t('client.group_name'), h('input', { name: 'name', required: true, autocomplete: 'off', 'data-test': 'new-group-name' })),
    field(t('client.group_members'), h('textarea', { name: 'members', rows: 2, 'data-test': 'new-group-members' }), t('client.group_members_hint')),
  ], t('client.create_group'), async (v) => {
    const r = await api.post('/rooms', { name: v.name.trim(), members: splitIDs(v.members) });
    navigate(`#/app/rooms/${encodeURIComponent(r.id)}`);
  });
  return h('div', { class: 'new-room' },
    h('details', { 'data-test': 'new-direct-toggle' }, h('summary', {}, t('client.new_direct')), direct),
    h('details', { 'data-test': 'new-group-toggle' }, h('summary', {}, t('client.new_group')), group));
}

function roomView(pane, roomID, list) {
  let room = null;
  const members = new Map(); // account ID → member
  const shown = new Map(); // seq → { msg, el }
  let oldest = 0;
  let newest = 0;
  let hasMore = false;
  let loadingOlder = false;
  let alive = true;
  let replyTo = null;
  let readSent = 0;

  const me = () => state.current;
  const header = h('header', { class: 'room-header' });
  const notices = h('div', { class: 'room-notices' });
  const olderSlot = h('div', { class: 'older' });
  const msgList = h('ol', { class: 'messages', 'data-test': 'messages', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const scroller = h('div', { class: 'message-scroll', tabindex: '0', 'aria-label': t('client.history') }, olderSlot, msgList);
  const replySlot = h('div', { class: 'reply-slot' });
  const input = h('textarea', { name: 'body', rows: 2, 'data-test': 'composer-input', placeholder: t('client.composer_placeholder'), 'aria-label': t('client.composer_label'), maxlength: 10000 });
  const sendBtn = h('button', { type: 'submit', class: 'primary', 'data-test': 'composer-send' }, t('client.send'));
  const composerErr = h('div', { class: 'form-errors' });
  const composer = h('form', { class: 'composer', 'data-test': 'composer', novalidate: true },
    replySlot, h('div', { class: 'composer-row' }, input, sendBtn), composerErr);

  mount(pane, header, notices, scroller, composer);
  mount(msgList, h('li', {}, loading()));

  composer.addEventListener('submit', (ev) => { ev.preventDefault(); submit(); });
  input.addEventListener('keydown', (ev) => {
    // Enter sends, Shift+Enter breaks the line; never while an IME is
    // composing Japanese, where Enter confirms the conversion.
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
      ev.preventDefault();
      submit();
    }
    if (ev.key === 'Escape' && replyTo) { replyTo = null; drawReply(); }
  });
  scroller.addEventListener('scroll', () => {
    if (scroller.scrollTop < 80) loadOlder();
    if (nearBottom()) markRead();
  });

  const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  const toBottom = () => { scroller.scrollTop = scroller.scrollHeight; };

  async function loadRoom() {
    room = await api.get(`/rooms/${encodeURIComponent(roomID)}`);
    members.clear();
    for (const m of room.members || []) members.set(m.id, m);
    drawHeader();
  }

  function drawHeader() {
    const externals = (room.members || []).filter(isExternal);
    const membersBox = h('details', { class: 'room-members', 'data-test': 'room-members' },
      h('summary', {}, t('client.members_count', { count: room.member_count })),
      h('ul', {}, (room.members || []).map((m) => h('li', { 'data-test': 'room-member' },
        personLine(m, relationTag(m), m.room_role === 'manager' ? h('span', { class: 'tag' }, t('client.room_manager')) : null)))));
    mount(header,
      h('a', { href: '#/app', class: 'back', 'data-test': 'back-to-rooms' }, '← ', t('client.back_to_rooms')),
      h('div', { class: 'room-title' },
        h('h1', { 'data-test': 'room-title' }, roomName(room), ' ', room.external ? externalMark(t('client.external_count', { count: room.external_count })) : null),
        room.external ? h('small', { class: 'external-note', 'data-test': 'external-note' }, t('client.external_note', { count: externals.length || room.external_count })) : null),
      membersBox);
    if (room.read_only) {
      mount(notices, h('p', { class: 'notice read-only', role: 'status', 'data-test': 'read-only' },
        h('strong', {}, t('client.read_only_title')), ' ', room.read_only_reason || t('client.read_only_text')));
    } else mount(notices);
    input.disabled = !!room.read_only;
    sendBtn.disabled = !!room.read_only;
    input.placeholder = room.read_only ? t('client.read_only_composer') : t('client.composer_placeholder');
  }

  function senderOf(m) {
    return members.get(m.sender_id) || null;
  }

  function readBy(m) {
    if (!members.size) return m.read_by || 0;
    let n = 0;
    for (const p of members.values()) if (p.id !== m.sender_id && p.last_read_seq >= m.seq) n++;
    return n;
  }

  function messageEl(m) {
    const own = m.sender_id === me();
    const who = senderOf(m);
    const ext = isExternal(who);
    const quoted = m.reply_to ? shown.get(m.reply_to) : null;
    const actions = [];
    if (!m.deleted && !(room && room.read_only)) {
      actions.push(h('button', { type: 'button', class: 'link', 'data-test': 'message-reply', 'aria-label': t('client.reply_to', { seq: m.seq }), onclick: () => startReply(m) }, t('client.reply')));
    }
    if (own && !m.deleted) {
      if (!(room && room.read_only)) actions.push(h('button', { type: 'button', class: 'link', 'data-test': 'message-edit', onclick: () => startEdit(m) }, t('common.edit')));
      actions.push(h('button', { type: 'button', class: 'link danger-link', 'data-test': 'message-delete', onclick: () => remove(m) }, t('common.delete')));
    }
    const n = readBy(m);
    return h('li', { class: ['message', own ? 'own' : '', ext ? 'from-external' : '', m.deleted ? 'deleted' : ''], 'data-test': 'message', 'data-seq': m.seq },
      h('div', { class: 'message-meta' },
        h('strong', { class: 'sender' }, own ? t('client.you') : who ? (who.display_name || who.sign_in_id) : t('client.former_member')),
        ext ? externalMark(who.relation_reason) : null,
        h('time', { datetime: m.created_at }, formatTime(m.created_at)),
        m.edited_at && !m.deleted ? h('small', { 'data-test': 'message-edited' }, t('client.edited')) : null),
      m.reply_to ? h('blockquote', { class: 'quote', 'data-test': 'message-quote' },
        quoted && !quoted.msg.deleted ? quoted.msg.body.slice(0, 140) : t('client.reply_to_seq', { seq: m.reply_to })) : null,
      m.deleted
        ? h('p', { class: 'body deleted-text', 'data-test': 'message-body' }, t('client.deleted'))
        : h('p', { class: 'body', 'data-test': 'message-body' }, m.body),
      h('div', { class: 'message-foot' },
        own && !m.deleted && n > 0 ? h('small', { class: 'read-count', 'data-test': 'read-count' }, t('client.read_by', { count: n })) : null,
        actions.length ? h('span', { class: 'message-actions' }, actions) : null));
  }

  function put(m) {
    const old = shown.get(m.seq);
    const el = messageEl(m);
    if (old) {
      old.el.replaceWith(el);
      shown.set(m.seq, { msg: m, el });
      return;
    }
    shown.set(m.seq, { msg: m, el });
    // Keep seq order: most arrive at the end.
    let after = null;
    for (const [s, v] of shown) if (s < m.seq && (!after || s > after.seq)) after = { seq: s, el: v.el };
    if (!after || !after.el.parentNode) msgList.prepend(el);
    else after.el.after(el);
    if (m.seq > newest) newest = m.seq;
    if (!oldest || m.seq < oldest) oldest = m.seq;
  }

  function redrawAll() {
    for (const [, v] of shown) { const el = messageEl(v.msg); v.el.replaceWith(el); v.el = el; }
  }

  function drawOlder() {
    mount(olderSlot, hasMore
      ? h('button', { type: 'button', class: 'link', 'data-test': 'load-older', onclick: () => loadOlder() }, t('client.load_older'))
      : (shown.size ? h('p', { class: 'hint', 'data-test': 'history-start' }, t('client.history_start')) : null));
  }

  async function loadHistory() {
    const hist = await api.get(`/rooms/${encodeURIComponent(roomID)}/messages`, { query: { limit: PAGE } });
    if (!alive) return;
    mount(msgList);
    shown.clear();
    oldest = 0; newest = 0;
    for (const m of hist.messages || []) put(m);
    hasMore = !!hist.has_more;
    if (!shown.size) mount(msgList, h('li', { class: 'no-messages', 'data-test': 'no-messages' }, emptyState(t('client.no_messages'), t('client.no_messages_text'))));
    drawOlder();
    toBottom();
    markRead();
    // A short first page on a tall screen leaves nothing to scroll: keep
    // loading until the history fills the view or ends.
    if (hasMore && scroller.scrollHeight <= scroller.clientHeight + 80) loadOlder();
  }

  async function loadOlder() {
    if (!hasMore || loadingOlder || !oldest) return;
    loadingOlder = true;
    mount(olderSlot, h('p', { class: 'loading', role: 'status', 'data-test': 'loading-older' }, t('common.loading')));
    try {
      const hist = await api.get(`/rooms/${encodeURIComponent(roomID)}/messages`, { query: { before: oldest, limit: PAGE } });
      if (!alive) return;
      const before = scroller.scrollHeight - scroller.scrollTop;
      for (const m of hist.messages || []) put(m);
      hasMore = !!hist.has_more;
      // Keep the message the reader was looking at in place.
      scroller.scrollTop = scroller.scrollHeight - before;
      drawOlder();
      if (hasMore && scroller.scrollHeight <= scroller.clientHeight + 80) setTimeout(loadOlder, 0);
    } catch (err) {
      mount(olderSlot, errorBox(err));
    } finally {
      loadingOlder = false;
    }
  }

  // markRead moves the read position to the newest message on screen, over
  // the stream when it is up.
  async function markRead() {
    if (!newest || newest <= readSent || document.visibilityState !== 'visible' || !nearBottom()) return;
    if (room && room.last_read_seq >= newest) { readSent = newest; return; }
    const seq = newest;
    readSent = seq;
    try {
      await stream.send({ type: 'read', account_id: me(), room_id: roomID, seq });
    } catch (err) {
      if (err.code !== 'network') return;
      try { await api.post(`/rooms/${encodeURIComponent(roomID)}/read`, { seq }); } catch { readSent = 0; return; }
    }
    if (room) room.last_read_seq = Math.max(room.last_read_seq || 0, seq);
    const mine = members.get(me());
    if (mine) mine.last_read_seq = Math.max(mine.last_read_seq || 0, seq);
    scheduleUnread();
    list.reload();
  }

  function startReply(m) {
    replyTo = m;
    drawReply();
    input.focus();
  }

  function drawReply() {
    if (!replyTo) { mount(replySlot); return; }
    const who = senderOf(replyTo);
    mount(replySlot, h('div', { class: 'replying', 'data-test': 'replying' },
      h('span', {}, t('client.replying_to', { name: replyTo.sender_id === me() ? t('client.you') : who ? who.display_name : t('client.former_member') }), ': ',
        h('em', {}, replyTo.body.slice(0, 80))),
      h('button', { type: 'button', class: 'link', 'data-test': 'reply-cancel', onclick: () => { replyTo = null; drawReply(); input.focus(); } }, t('client.reply_cancel'))));
  }

  async function submit() {
    const text = input.value;
    if (!text.trim() || (room && room.read_only)) return;
    const msg = { client_msg_id: newClientMsgID(), body: text };
    if (replyTo) msg.reply_to = replyTo.seq;
    const sent = await busy(sendBtn, async () => {
      let m;
      try {
        const ack = await stream.send({ type: 'send', account_id: me(), room_id: roomID, ...msg });
        m = ack.message;
      } catch (err) {
        // Only a missing connection falls back to HTTP; the same
        // client_msg_id makes a doubled send harmless.
        if (err.code !== 'network') throw err;
        m = await api.post(`/rooms/${encodeURIComponent(roomID)}/messages`, msg);
      }
      return m;
    }, composerErr);
    if (!sent) return;
    input.value = '';
    replyTo = null;
    drawReply();
    arrived(sent, true);
    input.focus();
  }

  function arrived(m, mine) {
    const empty = msgList.querySelector('.no-messages');
    if (empty) empty.remove();
    const stick = mine || nearBottom();
    put(m);
    drawOlder();
    if (stick) toBottom();
    markRead();
  }

  function startEdit(m) {
    const entry = shown.get(m.seq);
    if (!entry) return;
    const area = h('textarea', { rows: 3, 'data-test': 'edit-input', 'aria-label': t('client.edit_label'), maxlength: 10000 }, m.body);
    area.value = m.body;
    const slot = h('div', { class: 'form-errors' });
    const save = h('button', { type: 'submit', class: 'primary', 'data-test': 'edit-save' }, t('common.save'));
    const cancel = h('button', { type: 'button', 'data-test': 'edit-cancel', onclick: () => put(shown.get(m.seq).msg) }, t('common.cancel'));
    const f = h('form', { class: 'edit-form' }, area, slot, h('div', { class: 'actions' }, cancel, save));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy(save, async () => {
        const updated = await api.patch(`/rooms/${encodeURIComponent(roomID)}/messages/${m.seq}`, { body: area.value });
        put(updated);
      }, slot);
    });
    area.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') put(shown.get(m.seq).msg); });
    const bodyEl = entry.el.querySelector('.body');
    bodyEl.replaceWith(f);
    area.focus();
  }

  async function remove(m) {
    const ok = await confirmDialog({ title: t('client.delete_title'), body: h('p', {}, t('client.delete_body')), confirmLabel: t('common.delete'), danger: true });
    if (!ok) return;
    try {
      await api.del(`/rooms/${encodeURIComponent(roomID)}/messages/${m.seq}`);
      put({ ...m, deleted: true, body: '' });
    } catch (err) {
      toast(errorText(err), 'error');
    }
  }

  const off = stream.onFrame((f) => {
    if (f.type === 'room.reset' && f.room_id === roomID) { loadHistory().catch(() => {}); return; }
    if (f.type === 'hello' && f.resumed === false && shown.size) { loadHistory().catch(() => {}); return; }
    if (f.type === 'notice' && f.kind === 'people.reclassified') { loadRoom().then(redrawAll).catch(() => {}); return; }
    if (f.type !== 'event' || f.room_id !== roomID) return;
    switch (f.kind) {
      case 'message.created':
        if (f.message && !shown.has(f.message.seq)) arrived(f.message, f.message.sender_id === me());
        break;
      case 'message.edited':
      case 'message.deleted':
        if (f.message && shown.has(f.message.seq)) put(f.message);
        else if (f.kind === 'message.deleted' && f.seq && shown.has(f.seq)) put({ ...shown.get(f.seq).msg, deleted: true, body: '' });
        break;
      case 'read.updated': {
        const who = members.get(f.account_id);
        if (who && f.seq > (who.last_read_seq || 0)) { who.last_read_seq = f.seq; redrawAll(); }
        break;
      }
      case 'member.joined':
      case 'member.left':
      case 'room.updated':
        loadRoom().then(redrawAll).catch((err) => { if (err.code === 'not_found') mount(pane, errorBox(err)); });
        break;
      default:
    }
  });
  const onVisible = () => markRead();
  document.addEventListener('visibilitychange', onVisible);

  (async () => {
    try {
      await loadRoom();
      await loadHistory();
    } catch (err) {
      if (alive) mount(pane, h('div', { class: 'room-error' }, h('a', { href: '#/app', class: 'back' }, '← ', t('client.back_to_rooms')), errorBox(err)));
    }
  })();

  return { destroy() { alive = false; off(); document.removeEventListener('visibilitychange', onVisible); } };
}
