// Shared by the storefront and the console: a small client for the v1 API (problem+json errors,
// idempotency keys, retries of money calls that are safe to retry) and a DOM builder that only
// ever sets text (never innerHTML), so catalog titles and user ids cannot inject markup.

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || (status === 0 ? 'network' : 'http_' + status);
  }
}

// A new Idempotency-Key: one per confirmed money action, reused by every retry of that action.
export function newIdempotencyKey(prefix) {
  const rnd = crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), b => b.toString(16).padStart(2, '0')).join('');
  return `${prefix}-${rnd}`;
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

// makeApi(getToken) → api(method, path, opts). opts: body (JSON), idem (Idempotency-Key),
// raw (return the Response), retries (for idempotent calls: network errors, 503 and
// 409 idempotency_in_progress are retried with the same key, so a retry never charges twice).
export function makeApi(getToken) {
  async function once(method, path, opts) {
    const headers = { Accept: 'application/json' };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (opts.idem) headers['Idempotency-Key'] = opts.idem;
    let body;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    let res;
    try {
      res = await fetch(path, { method, headers, body, cache: opts.cache || 'no-cache' });
    } catch (e) {
      throw new ApiError(0, { title: 'network error', detail: String(e && e.message || e) });
    }
    if (opts.raw && res.ok) return res;
    if (res.status === 204) return null;
    const type = res.headers.get('Content-Type') || '';
    const data = type.includes('json') ? await res.json().catch(() => null) : await res.text();
    if (!res.ok) throw new ApiError(res.status, typeof data === 'object' ? data : { detail: data });
    return data;
  }
  return async function api(method, path, opts = {}) {
    const tries = 1 + (opts.idem ? (opts.retries ?? 3) : 0);
    for (let i = 0; ; i++) {
      try {
        return await once(method, path, opts);
      } catch (e) {
        const retryable = e.status === 0 || e.status === 503 || e.code === 'idempotency_in_progress';
        if (!retryable || i + 1 >= tries) throw e;
        await sleep(300 * (i + 1));
      }
    }
  };
}

// el('button', {class: 'x', onclick: f, 'aria-label': 'y'}, 'text', child, ...) → element.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children.flat()) if (c != null) node.append(c instanceof Node ? c : String(c));
  return node;
}

// Minor units (fen) → "¥12.30". Integer arithmetic only: no floating point for money.
export function money(minor, currency = 'CNY') {
  if (minor === null || minor === undefined) return '—';
  const n = BigInt(minor);
  const neg = n < 0n;
  const a = neg ? -n : n;
  const s = `${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
  const sym = currency === 'CNY' ? '¥' : currency + ' ';
  return (neg ? '-' : '') + sym + s;
}

export function itemsOf(page) {
  if (Array.isArray(page)) return page;
  if (!page) return [];
  return page.items || page.days || page.data || [];
}

export function fmtTime(iso, lang) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'short', timeStyle: 'short' });
}

// The carrier's business day (UTC+8 by default) of a moment, as YYYY-MM-DD.
export function businessDay(date = new Date(), offsetHours = 8) {
  return new Date(date.getTime() + offsetHours * 3600e3).toISOString().slice(0, 10);
}

export function addDays(day, n) {
  const d = new Date(day + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
