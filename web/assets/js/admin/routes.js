// The admin console's routes. Each section lives in its own module; the
// console opens on the member list.
import { navigate } from '../core/router.js';
import { membersPage } from './members.js';
import { importPage } from './import.js';
import { domainsPage } from './domains.js';
import { policyPage } from './policy.js';
import { groupsPage } from './groups.js';
import { reclassifyPage } from './reclassify.js';
import { settingsPage } from './settings.js';
import { auditPage } from './audit.js';

export function registerAdmin(route) {
  route('/admin', () => navigate('#/admin/members', true));
  route('/admin/members', membersPage);
  route('/admin/import', importPage);
  route('/admin/domains', domainsPage);
  route('/admin/policy', policyPage);
  route('/admin/groups', groupsPage);
  route('/admin/reclassify', reclassifyPage);
  route('/admin/settings', settingsPage);
  route('/admin/audit', auditPage);
}
