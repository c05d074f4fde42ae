// Every text on screen goes through t(key): one message catalogue per
// language, split by area (common, client, admin) so each file stays
// readable. English is the fallback; a key missing from the chosen
// language is recorded in window.kizunaMissingKeys (the browser tests fail
// on any) and shown in English, never as a raw key if English has it.

export const languages = ['ja', 'en'];
const areas = ['common', 'client', 'admin'];
let lang = 'en';
let messages = {};
let fallback = {};
export const missingKeys = new Set();
window.kizunaMissingKeys = missingKeys;

async function loadCatalogue(l) {
  const parts = await Promise.all(areas.map(async (a) => {
    const res = await fetch(`/assets/i18n/${l}/${a}.json`, { credentials: 'same-origin' });
    if (!res.ok) throw new Error(`catalogue ${l}/${a}: ${res.status}`);
    return res.json();
  }));
  return Object.assign({}, ...parts);
}

// pickLanguage: the saved choice, else the browser's first known language.
export function pickLanguage() {
  const saved = localStorage.getItem('kizuna.lang');
  if (languages.includes(saved)) return saved;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (languages.includes(base)) return base;
  }
  return 'en';
}

export async function setLanguage(l, save = false) {
  if (!languages.includes(l)) l = 'en';
  const [m, f] = await Promise.all([loadCatalogue(l), l === 'en' ? null : loadCatalogue('en')]);
  messages = m;
  fallback = f || m;
  lang = l;
  missingKeys.clear();
  document.documentElement.lang = l;
  if (save) localStorage.setItem('kizuna.lang', l);
}

export const currentLanguage = () => lang;

// has reports whether the current catalogue holds key (for optional texts
// such as translations of error codes, which fall back to the server).
export const has = (key) => Object.prototype.hasOwnProperty.call(messages, key);

// t returns the text for key with {name} placeholders filled in.
// A params.count picks key.one / key.other when those exist.
export function t(key, params = {}) {
  let k = key;
  if (typeof params.count === 'number' && !has(key) && has(`${key}.other`)) {
    k = params.count === 1 && has(`${key}.one`) ? `${key}.one` : `${key}.other`;
  }
  let s = messages[k];
  if (s === undefined) {
    missingKeys.add(k);
    s = fallback[k] !== undefined ? fallback[k] : k;
  }
  return s.replace(/\{(\w+)\}/g, (m, name) => (params[name] !== undefined ? String(params[name]) : m));
}

// errorText explains an API error: the catalogue's text for its code when
// there is one, else the server's own sentence.
export function errorText(err) {
  if (err && err.code && has(`error.${err.code}`)) return t(`error.${err.code}`, err.details || {});
  if (err && err.network) return t('error.network');
  return (err && err.message) || t('error.unknown');
}

export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const sameDay = d.toDateString() === new Date().toDateString();
  return new Intl.DateTimeFormat(lang === 'ja' ? 'ja-JP' : 'en-GB', sameDay
    ? { hour: '2-digit', minute: '2-digit' }
    : { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }).format(d);
}

export function formatNumber(n) {
  return new Intl.NumberFormat(lang === 'ja' ? 'ja-JP' : 'en-GB').format(n);
}
