// The member client's routes: rooms (list and room view), contacts,
// groups and boards, profile. The unread tracker starts with them, so the
// account switcher's badges stay current on every screen.

import { roomsPage } from './rooms.js';
import { contactsPage } from './contacts.js';
import { groupsPage, boardPage, postPage } from './boards.js';
import { profilePage } from './profile.js';
import { startUnread } from './unread.js';

export function registerClient(route) {
  route('/app', roomsPage);
  route('/app/rooms/:id', roomsPage);
  route('/app/contacts', contactsPage);
  route('/app/groups', groupsPage);
  route('/app/boards/:id', boardPage);
  route('/app/boards/:id/posts/:post', postPage);
  route('/app/profile', profilePage);
  startUnread();
}
