// CSV import: a dry run first, with every row's errors in a table; then
// the real, all-or-nothing import. Both run on the server in the
// background; the page polls the job and shows its progress, and stays
// usable meanwhile.

import { saveBlob } from '../core/api.js';
import { h, mount, field } from '../core/dom.js';
import { t, formatNumber } from '../core/i18n.js';
import { toast, emptyState, busy, pageHeader, errorBox } from '../core/ui.js';
import { admin, enc, layout, table, section, sheetActions } from './common.js';

const TEMPLATE = 'local,domain,display_name,mail,role,groups\r\nsato,example.co.jp,佐藤 花子,sato@mail.example,member,\r\n';

export function importPage() {
  const content = layout('import');
  const file = h('input', { type: 'file', accept: '.csv,text/csv', 'data-test': 'import-file' });
  const text = h('textarea', { rows: 8, spellcheck: 'false', class: 'mono', 'data-test': 'import-text', placeholder: TEMPLATE.trim() });
  const status = h('div', { 'aria-live': 'polite', 'data-test': 'import-status' });
  const result = h('div', { 'data-test': 'import-result' });
  const check = h('button', { type: 'button', class: 'primary', 'data-test': 'import-check' }, t('admin.import.check'));
  const template = h('button', { type: 'button', 'data-test': 'import-template' }, t('admin.import.template'));
  template.addEventListener('click', () => saveBlob(new Blob(['\ufeff' + TEMPLATE], { type: 'text/csv' }), 'kizuna-members-template.csv'));

  file.addEventListener('change', async () => {
    const f = file.files[0];
    if (f) text.value = await f.text();
  });

  let cancelled = false;
  const source = () => text.value;
  check.addEventListener('click', () => busy(check, async () => {
    mount(result);
    if (!source().trim()) { mount(status, h('p', { class: 'error', role: 'alert' }, t('admin.import.nothing'))); return; }
    const csv = source();
    const job = await run(csv, true, status, () => cancelled);
    if (job) showDryRun(job, csv, result, status, () => cancelled);
  }, status));

  content.append(pageHeader(t('admin.import.title'), template),
    h('p', {}, t('admin.import.intro')),
    h('div', { class: 'panel' },
      field(t('admin.import.file'), file, t('admin.import.file_hint')),
      field(t('admin.import.text'), text, t('admin.import.text_hint')),
      h('div', { class: 'actions' }, check)),
    status, result);
  return () => { cancelled = true; };
}

// run starts an import job and polls it until it ends, drawing progress.
async function run(csv, dryRun, status, isCancelled) {
  const total = csv.split('\n').filter((l) => l.trim() !== '').length;
  const progress = h('progress', { class: 'progress', max: String(Math.max(total, 1)), value: '0', 'data-test': 'import-progress', 'aria-label': t('admin.import.progress') });
  const label = h('p', { class: 'hint' }, t('admin.import.phase_starting'));
  mount(status, h('div', { class: 'panel' }, h('p', {}, dryRun ? t('admin.import.checking') : t('admin.import.importing')), progress, label));
  let job = await admin.post('/member-imports', csv, { query: { dry_run: dryRun ? 'true' : 'false' }, contentType: 'text/csv; charset=utf-8' });
  while (job.state === 'running') {
    await new Promise((r) => setTimeout(r, 400));
    if (isCancelled()) return null;
    job = await admin.get(`/member-imports/${enc(job.id)}`);
    progress.value = String(Math.min(job.lines_read, total));
    label.textContent = t('admin.import.phase', { phase: phaseText(job.phase), lines: formatNumber(job.lines_read), total: formatNumber(total) });
  }
  progress.value = progress.max;
  mount(status);
  if (job.state === 'failed') {
    mount(status, errorBox(job.failure || { message: t('admin.import.failed') }));
    return null;
  }
  return job;
}

function phaseText(p) {
  switch (p) {
    case 'parsing': return t('admin.import.phase_parsing');
    case 'checking': return t('admin.import.phase_checking');
    case 'writing': return t('admin.import.phase_writing');
    default: return t('admin.import.phase_done');
  }
}

function errorsTable(errors) {
  return table([
    { label: t('admin.import.col_line'), cell: (e) => String(e.line) },
    { label: t('admin.import.col_column'), cell: (e) => e.column || '—' },
    { label: t('admin.import.col_problem'), cell: (e) => h('span', {}, e.message, h('br'), h('small', { class: 'mono' }, e.code)) },
  ], errors, { test: 'import-errors', label: t('admin.import.errors_title'), rowAttrs: () => ({ 'data-test': 'import-error-row' }) });
}

function warnings(job) {
  return job.warnings && job.warnings.length ? h('ul', { class: 'notice' }, job.warnings.map((w) => h('li', {}, w))) : null;
}

function showDryRun(job, csv, result, status, isCancelled) {
  if (job.errors && job.errors.length) {
    mount(result, section(t('admin.import.errors_title'),
      h('p', { class: 'error', role: 'alert', 'data-test': 'import-has-errors' }, t('admin.import.errors_intro', { count: job.errors.length, rows: job.rows })),
      warnings(job), errorsTable(job.errors)));
    return;
  }
  const go = h('button', { type: 'button', class: 'primary', 'data-test': 'import-run' }, t('admin.import.run', { count: job.rows }));
  go.addEventListener('click', () => busy(go, async () => {
    const done = await run(csv, false, status, isCancelled);
    if (!done) return;
    if (done.errors && done.errors.length) {
      mount(result, section(t('admin.import.errors_title'), errorsTable(done.errors)));
      return;
    }
    toast(t('admin.import.done', { count: done.created }));
    mount(result, section(t('admin.import.done_title'),
      h('p', { 'data-test': 'import-done' }, t('admin.import.done', { count: done.created })),
      warnings(done),
      done.sheet_ticket ? [h('p', { class: 'notice' }, t('admin.import.sheets_note')), sheetActions(done.sheet_ticket, true)] : null,
      h('p', {}, h('a', { href: '#/admin/members' }, t('admin.import.to_members')))));
  }, result));
  mount(result, section(t('admin.import.ready_title'),
    h('p', { class: 'ok-text', 'data-test': 'import-ready' }, t('admin.import.ready', { count: job.rows })),
    warnings(job),
    job.rows ? h('div', { class: 'actions' }, go) : emptyState(t('admin.import.no_rows'))));
}
