// The admin console's routes.
import { t } from '../core/i18n.js';
import { frame } from '../core/shell.js';
import { pageHeader } from '../core/ui.js';

export function registerAdmin(route) {
  route('/admin', () => {
    const main = frame('admin');
    main.append(pageHeader(t('admin.title')));
  });
}
