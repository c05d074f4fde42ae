// The admin console's routes. Each section lives in its own module; the
// console opens on the member list.
import { navigate } from '../core/router.js';
import { membersPage } from './members.js';
import { importPage } from './import.js';
import { domainsPage } from './domains.js';

export function registerAdmin(route) {
  route('/admin', () => navigate('#/admin/members', true));
  route('/admin/members', membersPage);
  route('/admin/import', importPage);
  route('/admin/domains', domainsPage);
}
