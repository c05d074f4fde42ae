// The member client's routes (rooms, contacts, groups and boards, profile).
import { h } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { frame } from '../core/shell.js';
import { pageHeader } from '../core/ui.js';

export function registerClient(route) {
  route('/app', () => {
    const main = frame('client');
    main.append(pageHeader(t('client.rooms')));
  });
}
