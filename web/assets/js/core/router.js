// Hash routes: #/path/with/:params?query. A route renders into the page's
// main element; leaving a route runs the cleanup its render returned.

const routes = [];
let cleanup = null;
let guard = null;

// route registers pattern ("/app/rooms/:id") → render(params, query).
export function route(pattern, render, opts = {}) {
  const names = [];
  const re = new RegExp('^' + pattern.replace(/:(\w+)/g, (m, n) => { names.push(n); return '([^/]+)'; }) + '/?$');
  routes.push({ pattern, re, names, render, public: !!opts.public });
}

// patterns lists the registered routes (the browser tests visit each).
export const patterns = () => routes.map((r) => r.pattern);

// setGuard(fn): fn(route) returns a hash to redirect to, or null.
export function setGuard(fn) { guard = fn; }

export function navigate(hash, replace = false) {
  const target = hash.startsWith('#') ? hash : '#' + hash;
  if (location.hash === target) { render(); return; }
  if (replace) history.replaceState(null, '', target);
  else location.hash = target;
  if (replace) render();
}

export function current() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  return { path, query: new URLSearchParams(qs || '') };
}

export function match(path) {
  for (const r of routes) {
    const m = r.re.exec(path);
    if (m) {
      const params = {};
      r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
      return { r, params };
    }
  }
  return null;
}

export async function render() {
  const { path, query } = current();
  const found = match(path) || match('/');
  if (guard) {
    const to = guard(found.r, path);
    if (to && to !== '#' + path) { navigate(to, true); return; }
  }
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  const out = await found.r.render(found.params, query);
  if (typeof out === 'function') cleanup = out;
}

export function start() {
  window.addEventListener('hashchange', render);
  return render();
}
