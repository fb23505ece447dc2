// The finance/operator console. The admin API key is typed into the page and kept in this
// module's memory only (never in storage, a cookie or a URL): a reload forgets it.
// Charts are plain SVG drawn here (no library): a few bars per day need no dependency, and the
// same numbers are in a table next to each chart for screen readers and copying.
import { makeApi, ApiError, el, svgEl, money, itemsOf, fmtTime, businessDay, addDays, newIdempotencyKey } from '/web/lib/common.js';

let adminKey = null;
const api = makeApi(() => adminKey);
const $ = id => document.getElementById(id);
const BUSINESS_OFFSET_H = 8; // [billing] business day offset: UTC+8
const state = { from: null, to: null, subscriber: null };

function today() { return businessDay(new Date(), BUSINESS_OFFSET_H); }

function toast(text) {
  let box = $('toasts');
  if (!box) {
    box = el('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const node = el('div', { class: 'toast' }, text);
  box.append(node);
  setTimeout(() => node.remove(), 6000);
}

function problemText(e) {
  if (!(e instanceof ApiError)) return String(e);
  if (e.code === 'network') return 'No connection to the gateway · 无法连接网关';
  const rid = e.problem.request_id ? ` (request ${e.problem.request_id})` : '';
  return `${e.status} ${e.code}: ${e.message}${rid}`;
}

// 401/403 anywhere: back to the key form.
function authFailed(e) {
  if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
    signOut(e.status === 401 ? 'That key was not accepted · 密钥无效' : 'This key may not use the console · 无权限');
    return true;
  }
  return false;
}

function heading(text) { return el('h2', { tabindex: '-1', class: 'view-title' }, text); }

function errorBox(e) { return el('p', { class: 'error', role: 'alert' }, problemText(e)); }

function notAvailable(e, what) {
  if (e instanceof ApiError && e.status === 404 && e.code === 'not_found') {
    return el('p', { class: 'notice' }, `${what}: this gateway does not offer it yet · 网关暂不支持`);
  }
  return errorBox(e);
}

function table(head, rows, opts = {}) {
  return el('div', { class: 'table-wrap' }, el('table', { id: opts.id },
    opts.caption ? el('caption', { class: 'sr-only' }, opts.caption) : null,
    el('thead', {}, el('tr', {}, head.map(h => el('th', { scope: 'col', class: h.num ? 'num' : '' }, h.label || h)))),
    el('tbody', {}, rows)));
}

const td = (v, num) => el('td', { class: num ? 'num' : '' }, v);

// --- revenue: chart, table, top items, CDR export days -------------------------------------
function barChart(days, series, { stacked = false, label }) {
  const W = Math.max(420, days.length * 36), H = 230, L = 62, B = 24, T = 10;
  const max = Math.max(1, ...days.map(d => stacked ? series.reduce((s, k) => s + Math.max(0, d[k]), 0)
    : Math.max(...series.map(k => Math.abs(d[k])))));
  const y = v => T + (H - T - B) * (1 - v / max);
  const slot = (W - L) / Math.max(1, days.length);
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': label });
  for (let i = 0; i <= 4; i++) {
    const v = Math.round(max * i / 4);
    svg.append(svgEl('line', { x1: L, x2: W, y1: y(v), y2: y(v), class: 'axis' }),
      svgEl('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, money(v)));
  }
  days.forEach((d, i) => {
    const x0 = L + i * slot + slot * 0.12;
    const inner = slot * 0.76;
    if (stacked) {
      let top = 0;
      for (const k of series) {
        const v = Math.max(0, d[k]);
        svg.append(svgEl('rect', { x: x0, width: inner, y: y(top + v), height: y(top) - y(top + v), class: k.replace('_share', '') },
          svgEl('title', {}, `${d.day} ${k}: ${money(d[k], d.currency)}`)));
        top += v;
      }
    } else {
      const w = inner / series.length;
      series.forEach((k, j) => {
        const v = Math.abs(d[k]);
        svg.append(svgEl('rect', { x: x0 + j * w, width: Math.max(1, w - 2), y: y(v), height: y(0) - y(v), class: k },
          svgEl('title', {}, `${d.day} ${k}: ${money(d[k], d.currency)}`)));
      });
    }
    const every = Math.ceil(days.length / 10); // at most ~10 day labels, the last one always
    if ((days.length - 1 - i) % every === 0) {
      svg.append(svgEl('text', { x: x0 + inner / 2, y: H - 6, 'text-anchor': 'middle' }, d.day.slice(5)));
    }
  });
  return svg;
}

function legend(keys) {
  const names = { charges: 'Charges · 收费', refunds: 'Refunds · 退款', net: 'Net · 净收入',
    provider_share: 'Provider share · 内容方分成', carrier_share: 'Carrier share · 运营商分成' };
  return el('ul', { class: 'legend' }, keys.map(k => el('li', {},
    el('span', { class: `swatch ${k.replace('_share', '')}`, 'aria-hidden': 'true' }), names[k])));
}

async function viewRevenue() {
  const t = today();
  const from = state.from || addDays(t, -13);
  const to = state.to || t;
  const fromIn = el('input', { type: 'date', id: 'rev-from', value: from, required: true });
  const toIn = el('input', { type: 'date', id: 'rev-to', value: to, required: true });
  const form = el('form', { class: 'range', onsubmit: ev => {
    ev.preventDefault();
    state.from = fromIn.value;
    state.to = toIn.value;
    render();
  } },
  el('div', {}, el('label', { for: 'rev-from' }, 'From · 从'), fromIn),
  el('div', {}, el('label', { for: 'rev-to' }, 'To · 到'), toIn),
  el('button', { type: 'submit', class: 'primary' }, 'Show · 查看'));

  const q = `from=${from}&to=${to}`;
  const [rev, top, days] = await Promise.allSettled([
    api('GET', `/v1/admin/reports/revenue?${q}`),
    api('GET', `/v1/admin/reports/top-items?${q}&limit=10`),
    api('GET', `/v1/admin/cdrs/days?${q}`),
  ]);
  for (const r of [rev, top, days]) if (r.status === 'rejected' && authFailed(r.reason)) throw r.reason;

  const parts = [heading(`Revenue per business day · 每日收入 (${from} – ${to}, UTC+${BUSINESS_OFFSET_H})`), form];
  if (rev.status === 'fulfilled') {
    const items = itemsOf(rev.value);
    const tot = rev.value.totals;
    const rows = items.map(d => el('tr', { class: d.day === t ? 'today' : '', id: `rev-${d.day}`,
      dataset: { day: d.day, net: d.net, charges: d.charges, refunds: d.refunds } },
    el('th', { scope: 'row' }, d.day, d.day === t ? ' (today · 今天)' : ''),
    td(el('span', { class: `pill ${d.status}` }, d.status)),
    td(money(d.charges, d.currency), 1), td(money(d.refunds, d.currency), 1),
    el('td', { class: 'num net' }, money(d.net, d.currency)),
    td(money(d.provider_share, d.currency), 1), td(money(d.carrier_share, d.currency), 1), td(d.count, 1)));
    if (tot) {
      rows.push(el('tr', { id: 'rev-total' }, el('th', { scope: 'row' }, 'Total · 合计'), td(''),
        td(money(tot.charges, tot.currency), 1), td(money(tot.refunds, tot.currency), 1), td(money(tot.net, tot.currency), 1),
        td(money(tot.provider_share, tot.currency), 1), td(money(tot.carrier_share, tot.currency), 1), td(tot.count, 1)));
    }
    parts.push(el('div', { class: 'grid two' },
      el('div', { class: 'card' }, el('h3', {}, 'Charges, refunds, net · 收费、退款、净收入'), legend(['charges', 'refunds', 'net']),
        barChart(items, ['charges', 'refunds', 'net'], { label: 'Charges, refunds and net per business day; the table below has the numbers' })),
      el('div', { class: 'card' }, el('h3', {}, 'Net split: provider vs carrier · 分成'), legend(['provider_share', 'carrier_share']),
        barChart(items, ['provider_share', 'carrier_share'], { stacked: true, label: 'Provider and carrier shares of net revenue per business day; the table below has the numbers' }))),
    el('div', { class: 'card' }, table([
      'Day · 日期', 'Status · 状态', { label: 'Charges · 收费', num: 1 }, { label: 'Refunds · 退款', num: 1 },
      { label: 'Net · 净收入', num: 1 }, { label: 'Provider · 内容方', num: 1 }, { label: 'Carrier · 运营商', num: 1 },
      { label: 'CDRs', num: 1 }], rows, { id: 'revenue-table', caption: 'Revenue per business day' })));
  } else {
    parts.push(notAvailable(rev.reason, 'Revenue report'));
  }

  const grid = el('div', { class: 'grid two' });
  if (top.status === 'fulfilled') {
    const rows = itemsOf(top.value).map((it, i) => el('tr', {},
      td(i + 1, 1), el('td', {}, it.title, el('div', { class: 'muted mono' }, it.sku)),
      td(it.count, 1), td(money(it.charges, it.currency), 1), td(money(it.refunds, it.currency), 1), td(money(it.net, it.currency), 1)));
    grid.append(el('div', { class: 'card' }, el('h3', {}, 'Top items · 热销商品'),
      rows.length ? table([{ label: '#', num: 1 }, 'Item · 商品', { label: 'CDRs', num: 1 }, { label: 'Charges', num: 1 },
        { label: 'Refunds', num: 1 }, { label: 'Net', num: 1 }], rows, { id: 'top-items' }) : el('p', { class: 'muted' }, 'No sales · 无销售')));
  } else {
    grid.append(el('div', { class: 'card' }, el('h3', {}, 'Top items · 热销商品'), notAvailable(top.reason, 'Top items')));
  }
  if (days.status === 'fulfilled') {
    const rows = itemsOf(days.value).slice().reverse().map(d => {
      const b = el('button', { type: 'button', class: 'small', 'aria-label': `Download the CDRs of ${d.day}`, dataset: { day: d.day } }, 'CSV');
      b.addEventListener('click', () => downloadCdrs(d.day, b));
      return el('tr', { class: d.day === t ? 'today' : '', id: `cdr-${d.day}`, dataset: { day: d.day, total: d.amount_total, status: d.status } },
        el('th', { scope: 'row' }, d.day), td(el('span', { class: `pill ${d.status}` }, d.status)),
        td(d.rows, 1), td(money(d.amount_total), 1),
        el('td', {}, d.closed_at ? fmtTime(d.closed_at, 'en') : '—', d.sha256 ? el('div', { class: 'mono muted', title: d.sha256 }, d.sha256.slice(0, 12) + '…') : null),
        el('td', {}, b));
    });
    grid.append(el('div', { class: 'card' }, el('h3', {}, 'CDR export · 话单导出'),
      el('p', { class: 'muted' }, 'provisional: the day has not ended; open: ended, not exported yet (downloading it closes the day: final). 未结束的日期为临时话单；下载已结束的日期会将其关账。'),
      table(['Day · 日期', 'Status · 状态', { label: 'Rows', num: 1 }, { label: 'Total · 合计', num: 1 }, 'Closed · 关账', ''], rows, { id: 'cdr-days' })));
  } else {
    grid.append(el('div', { class: 'card' }, el('h3', {}, 'CDR export · 话单导出'), notAvailable(days.reason, 'CDR days')));
  }
  parts.push(grid);
  return el('section', {}, parts);
}

async function downloadCdrs(day, button) {
  button.disabled = true;
  try {
    const res = await api('GET', `/v1/admin/cdrs?from=${day}&to=${day}`, { raw: true });
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: `cdrs-${day}.csv`, class: 'sr-only' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    toast(`CDRs of ${day} downloaded · 已下载`);
  } catch (e) {
    if (!authFailed(e)) toast(problemText(e));
  } finally {
    button.disabled = false;
  }
}

// --- subscribers: look-up, purchases, refunds ---------------------------------------------------
async function viewSubscribers() {
  const input = el('input', { id: 'sub-q', type: 'search', autocomplete: 'off', spellcheck: 'false', value: state.subQuery || '' });
  const results = el('div', { id: 'sub-results' });
  const detail = el('div', { id: 'sub-detail' });
  const form = el('form', { class: 'range', role: 'search', onsubmit: async ev => {
    ev.preventDefault();
    state.subQuery = input.value.trim();
    await search(state.subQuery, results, detail);
  } },
  el('div', { class: 'grow' }, el('label', { for: 'sub-q' }, 'Phone number prefix or IM user id · 手机号前缀或 IM 账号'), input),
  el('button', { type: 'submit', class: 'primary' }, 'Look up · 查询'));
  const section = el('section', {}, heading('Subscribers · 用户'), el('div', { class: 'card' }, form, results), detail);
  if (state.subQuery) await search(state.subQuery, results, detail);
  if (state.subscriber) await showSubscriber(state.subscriber, detail);
  return section;
}

async function search(q, results, detail) {
  if (!q) return;
  let items;
  try {
    items = itemsOf(await api('GET', `/v1/admin/subscribers?q=${encodeURIComponent(q)}&limit=20`));
  } catch (e) {
    if (authFailed(e)) return;
    if ((e.status === 404 || e.status === 405) && /^\d{8,15}$/.test(q)) { // no search: an exact number
      try { items = [await api('GET', `/v1/admin/subscribers/${q}`)]; } catch { items = []; }
    } else {
      results.replaceChildren(errorBox(e));
      return;
    }
  }
  const rows = items.map(s => {
    const b = el('button', { type: 'button', class: 'small', dataset: { msisdn: s.msisdn }, 'aria-label': `Open ${s.msisdn}` }, 'Open · 打开');
    b.addEventListener('click', () => { state.subscriber = s.msisdn; showSubscriber(s.msisdn, detail); });
    return el('tr', { dataset: { msisdn: s.msisdn } }, el('th', { scope: 'row', class: 'mono' }, s.msisdn), td(s.im_user_id || '—'),
      td(s.plan), td(money(s.balance, s.currency), 1), td(el('span', { class: `pill ${s.status}` }, s.status)), el('td', {}, b));
  });
  results.replaceChildren(rows.length ? table(['MSISDN', 'IM user · IM 账号', 'Plan · 套餐', { label: 'Balance · 余额', num: 1 }, 'Status · 状态', ''],
    rows, { id: 'sub-table' }) : el('p', { class: 'muted' }, 'No subscriber matches · 无匹配用户'));
}

async function showSubscriber(msisdn, detail) {
  detail.replaceChildren(el('p', { class: 'muted' }, 'Loading… · 加载中'));
  let sub;
  try {
    sub = await api('GET', `/v1/admin/subscribers/${encodeURIComponent(msisdn)}`);
  } catch (e) {
    if (!authFailed(e)) detail.replaceChildren(errorBox(e));
    return;
  }
  const kv = (k, v, id) => el('div', {}, el('span', { class: 'muted' }, k), el('b', { id }, v));
  const list = el('tbody');
  const more = el('button', { type: 'button', class: 'secondary', hidden: true }, 'More · 更多');
  let cursor = null;
  async function load() {
    try {
      const page = await api('GET', `/v1/admin/subscribers/${encodeURIComponent(msisdn)}/purchases?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      for (const p of itemsOf(page)) list.append(purchaseRow(sub, p, () => showSubscriber(msisdn, detail)));
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
    } catch (e) {
      if (!authFailed(e)) list.append(el('tr', {}, el('td', { colspan: 8 }, notAvailable(e, 'Purchases of a subscriber'))));
    }
  }
  more.addEventListener('click', load);
  await load();
  detail.replaceChildren(el('div', { class: 'card', id: 'subscriber', dataset: { msisdn } },
    el('h3', {}, `${sub.msisdn} · ${sub.im_user_id || '—'}`),
    el('div', { class: 'kv' },
      kv('Plan · 套餐', sub.plan), kv('Status · 状态', sub.status), kv('Balance · 余额', money(sub.balance, sub.currency), 'sub-balance'),
      kv('Available · 可用', money(sub.available, sub.currency)), kv('Spent this month · 本月消费', money(sub.spent && sub.spent.month, sub.currency)),
      kv('Credit limit · 信用额度', money(sub.credit_limit, sub.currency))),
    el('h3', {}, 'Purchases · 购买记录'),
    el('div', { class: 'table-wrap' }, el('table', { id: 'purchases' },
      el('thead', {}, el('tr', {}, ['#', 'When · 时间', 'Item · 商品', 'Charged · 收费', 'Refunded · 已退', 'Status · 状态', 'Gift · 赠送', '']
        .map((h, i) => el('th', { scope: 'col', class: i === 3 || i === 4 ? 'num' : '' }, h)))),
      list)), more));
}

function purchaseRow(sub, p, reload) {
  const refunded = p.refunded || 0;
  const left = p.amount - refunded;
  const title = p.title || (p.item && p.item.title) || p.sku || `item ${p.item_id}`;
  const b = left > 0 ? el('button', { type: 'button', class: 'small', dataset: { purchase: p.id }, 'aria-label': `Refund purchase ${p.id}` }, 'Refund · 退款') : null;
  if (b) b.addEventListener('click', () => refundDialog(sub, p, title, reload));
  return el('tr', { dataset: { purchase: p.id, refunded } },
    td(p.id, 1), td(fmtTime(p.created_at, 'en')), td(title), td(money(p.amount, p.currency), 1),
    el('td', { class: 'num refunded' }, money(refunded, p.currency), refundLines(p)), td(el('span', { class: `pill ${p.status}` }, p.status)),
    td(p.recipient_user_id && p.recipient_user_id !== p.buyer_user_id ? `→ ${p.recipient_user_id}` : ''), el('td', {}, b),
  );
}

function refundLines(p) {
  return (p.refunds || []).map(r => el('div', { class: 'muted' }, `${money(-r.amount, p.currency)} · ${r.reason} · ${r.actor || ''}`));
}

// "12.3" → 1230 (fen), integers only; null when not a positive amount with at most 2 decimals.
function parseYuan(s) {
  const m = /^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(s);
  if (!m) return null;
  const fen = Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'));
  return fen > 0 ? fen : null;
}

function refundDialog(sub, p, title, reload) {
  const dlg = $('refund-dialog');
  const left = p.amount - (p.refunded || 0);
  const amount = $('refund-amount');
  const reason = $('refund-reason');
  const errBox = $('refund-error');
  const ok = $('refund-ok');
  const cancel = $('refund-cancel');
  const key = newIdempotencyKey(`refund-${p.id}`); // one per confirmation; retries reuse it
  let busy = false;
  $('refund-details').replaceChildren(
    el('dt', {}, 'Purchase · 订单'), el('dd', { id: 'refund-purchase' }, `#${p.id} · ${title}`),
    el('dt', {}, 'Subscriber · 用户'), el('dd', {}, `${sub.msisdn} · ${sub.im_user_id || ''}`),
    el('dt', {}, 'Charged · 收费'), el('dd', {}, money(p.amount, p.currency)),
    el('dt', {}, 'Refundable · 可退'), el('dd', {}, money(left, p.currency)));
  amount.value = money(left, 'X').replace(/^X /, '');
  $('refund-amount-hint').textContent = `At most ${money(left, p.currency)}; the full amount revokes the entitlement and its download links. 全额退款将撤销授权。`;
  reason.value = '';
  errBox.hidden = true;
  ok.disabled = false;
  const close = () => { if (!busy) { dlg.close(); } };
  cancel.onclick = close;
  dlg.oncancel = ev => { if (busy) ev.preventDefault(); };
  $('refund-form').onsubmit = async ev => {
    ev.preventDefault();
    if (busy) return;
    const fen = parseYuan(amount.value);
    if (fen === null || fen > left) {
      errBox.textContent = `Enter an amount between 0.01 and ${money(left, 'X').replace(/^X /, '')} · 金额无效`;
      errBox.hidden = false;
      amount.focus();
      return;
    }
    if (!reason.value.trim()) { reason.focus(); return; }
    busy = true;
    ok.disabled = true;
    errBox.hidden = true;
    try {
      const r = await api('POST', `/v1/admin/purchases/${p.id}/refunds`, { body: { amount: fen, reason: reason.value.trim() }, idem: key });
      busy = false;
      dlg.close();
      toast(`Refunded ${money(r.amount, r.currency)} on purchase #${p.id} · 已退款`);
      await reload();
    } catch (e) {
      busy = false;
      ok.disabled = false;
      if (authFailed(e)) { dlg.close(); return; }
      errBox.textContent = problemText(e);
      errBox.hidden = false;
    }
  };
  dlg.showModal();
  reason.focus();
}

// --- reconciliation runs -------------------------------------------------------------------------
// classes: {matched: {count, amount}, amount_mismatch: {…}, …} (docs/reconciliation.md)
const CLASS_ORDER = ['matched', 'amount_mismatch', 'charged_not_billed', 'billed_unknown', 'billed_twice',
  'charged_not_delivered', 'malformed'];

function classEntries(run) {
  const obj = run.classes || {};
  const keys = [...CLASS_ORDER.filter(k => k in obj), ...Object.keys(obj).filter(k => !CLASS_ORDER.includes(k))];
  return keys.map(k => [k, typeof obj[k] === 'object' && obj[k] ? obj[k] : { count: obj[k], amount: null }]);
}

function classCounts(run) {
  return classEntries(run).filter(([k, v]) => v.count || k === 'matched').map(([k, v]) => `${k}: ${v.count}`).join(' · ');
}

async function viewReconciliation() {
  const section = el('section', {}, heading('Reconciliation runs · 对账'));
  let page;
  try {
    page = await api('GET', '/v1/admin/reconciliations?limit=20');
  } catch (e) {
    if (authFailed(e)) throw e;
    section.append(notAvailable(e, 'Reconciliation runs'));
    return section;
  }
  const detail = el('div', { id: 'recon-detail' });
  const body = el('tbody');
  const more = el('button', { type: 'button', class: 'secondary', hidden: true }, 'More · 更多');
  const add = pg => {
    for (const r of itemsOf(pg)) {
      const b = el('button', { type: 'button', class: 'small', 'aria-label': `Open run ${r.id}` }, 'Open · 打开');
      b.addEventListener('click', () => reconDetail(r.id, detail));
      body.append(el('tr', { dataset: { run: r.id } }, td(r.id, 1), el('th', { scope: 'row' }, r.day),
        td(el('span', { class: `pill ${r.discrepancies ? 'failed' : 'ok'}` }, r.discrepancies ? `${r.discrepancies} discrepancies` : 'clean')),
        td(r.file_name, 0), td(r.lines, 1), td(classCounts(r)), td(`${fmtTime(r.created_at, 'en')} · ${r.created_by || ''}`), el('td', {}, b)));
    }
    more.hidden = !pg.next_cursor;
    more.onclick = async () => add(await api('GET', `/v1/admin/reconciliations?limit=20&cursor=${encodeURIComponent(pg.next_cursor)}`));
  };
  add(page);
  section.append(el('div', { class: 'card' },
    body.children.length ? el('div', { class: 'table-wrap' }, el('table', { id: 'recon-runs' },
      el('thead', {}, el('tr', {}, ['#', 'Day · 日期', 'Result · 结果', 'Carrier file · 运营商文件', 'Lines · 行数', 'Classes · 分类', 'When, by · 时间', ''].map(h => el('th', { scope: 'col' }, h)))),
      body)) : el('p', { class: 'muted' }, 'No runs yet · 暂无对账'), more), detail);
  return section;
}

async function reconDetail(id, box) {
  try {
    const run = await api('GET', `/v1/admin/reconciliations/${encodeURIComponent(id)}`);
    const rows = classEntries(run).map(([k, v]) => el('tr', { dataset: { class: k, count: v.count } },
      el('th', { scope: 'row' }, k), td(v.count, 1), td(v.amount === null || v.amount === undefined ? '—' : money(v.amount), 1)));
    box.replaceChildren(el('div', { class: 'card', id: 'recon-run', dataset: { run: run.id } },
      el('h3', { tabindex: '-1' }, `Run #${run.id} · ${run.day}`),
      el('dl', { class: 'details' },
        el('dt', {}, 'Carrier file · 文件'), el('dd', {}, run.file_name, el('div', { class: 'mono muted' }, run.file_sha256 || '')),
        el('dt', {}, 'Lines · 行数'), el('dd', {}, run.lines),
        el('dt', {}, 'Discrepancies · 差异'), el('dd', {}, run.discrepancies),
        el('dt', {}, 'Run · 执行'), el('dd', {}, `${fmtTime(run.created_at, 'en')} · ${run.created_by || ''} · ${run.state || ''}`)),
      table(['Class · 分类', { label: 'Count · 笔数', num: 1 }, { label: 'Amount · 金额', num: 1 }], rows, { id: 'recon-classes', caption: 'Records per class' })));
    box.querySelector('h3').focus();
  } catch (e) {
    if (!authFailed(e)) box.replaceChildren(errorBox(e));
  }
}

// --- operations: relay backlog, webhook dead letters ---------------------------------------------
async function viewOperations() {
  const section = el('section', {}, heading('Operations · 运行状态'),
    el('div', { class: 'actions' }, el('button', { type: 'button', onclick: () => route() }, 'Refresh · 刷新')));
  let st;
  try {
    st = await api('GET', '/v1/admin/notifications/status?limit=50');
  } catch (e) {
    if (authFailed(e)) throw e;
    section.append(notAvailable(e, 'Notification status'));
    return section;
  }
  const relay = st.relay || {};
  const dead = (st.webhooks && st.webhooks.dead_letters) || { total: 0, items: [] };
  const kv = (k, v, id, warn) => el('div', { id }, el('span', { class: 'muted' }, k), el('b', { class: warn ? 'warn' : '' }, v));
  const age = relay.oldest_age_ms || 0;
  section.append(el('div', { class: 'card' }, el('h3', {}, 'Notification relay · 通知转发'),
    el('div', { class: 'kv' },
      kv('Backlog (outbox rows not yet in Redis) · 积压', String(relay.backlog ?? '—'), 'relay-backlog', relay.backlog > 0),
      kv('Oldest waiting · 最久等待', age ? `${(age / 1000).toFixed(1)} s` : '—', 'relay-age', age > 60000),
      kv('Webhook dead letters · 死信', String(dead.total ?? 0), 'dead-letters-total', dead.total > 0)),
    age > 60000 ? el('p', { class: 'error' }, 'The relay is behind: is Redis or every relay down? Nothing is lost; rows wait in MariaDB. 转发滞后。') : null));
  const items = dead.items || [];
  const deadRow = d => el('tr', { dataset: { event: d.event_id } }, el('td', { class: 'mono' }, d.event_id), td(d.provider_id, 1), td(d.type),
    td(d.attempts, 1), td([d.last_status, d.last_error].filter(x => x !== null && x !== undefined && x !== '').join(' · ') || '—'),
    td(fmtTime(d.created_at, 'en')));
  const tbl = table(['Event · 事件', 'Provider · 提供方', 'Type · 类型', { label: 'Attempts · 次数', num: 1 }, 'Last answer · 最后结果', 'Created · 时间'],
    items.map(deadRow), { id: 'dead-letters' });
  // older dead letters: before = the previous page's next_before
  let before = dead.next_before || null;
  const more = el('button', { type: 'button', class: 'secondary', hidden: !before }, 'Older · 更早');
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const pg = (await api('GET', `/v1/admin/notifications/status?limit=50&before=${before}`)).webhooks.dead_letters;
      tbl.querySelector('tbody').append(...(pg.items || []).map(deadRow));
      before = pg.next_before || null;
      more.hidden = !before;
    } catch (e) {
      if (!authFailed(e)) toast(problemText(e));
    } finally {
      more.disabled = false;
    }
  });
  section.append(el('div', { class: 'card' }, el('h3', {}, 'Webhook dead letters · Webhook 死信'),
    el('p', { class: 'muted' }, 'Re-queue with vasctl webhooks retry EVENT_ID (or --all-failed). 使用 vasctl webhooks retry 重新投递。'),
    items.length ? [tbl, more] : el('p', {}, 'None · 无')));
  return section;
}

// --- wiring ----------------------------------------------------------------------------------------
const VIEWS = { revenue: viewRevenue, subscribers: viewSubscribers, reconciliation: viewReconciliation, operations: viewOperations };
let seq = 0;

async function route() {
  if (!adminKey) return;
  const name = VIEWS[location.hash.slice(1)] ? location.hash.slice(1) : 'revenue';
  for (const a of document.querySelectorAll('#tabs a')) {
    if (a.dataset.tab === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const my = ++seq;
  const view = $('view');
  view.setAttribute('aria-busy', 'true');
  let node;
  try {
    node = await VIEWS[name]();
  } catch (e) {
    if (authFailed(e)) return;
    node = el('section', {}, heading('Error · 错误'), errorBox(e));
  }
  if (my !== seq || !adminKey) return;
  view.replaceChildren(node);
  view.removeAttribute('aria-busy');
  view.querySelector('.view-title')?.focus();
}

function signOut(message) {
  adminKey = null;
  state.subscriber = null;
  state.subQuery = null;
  $('view').replaceChildren();
  $('tabs').hidden = true;
  $('sign-out').hidden = true;
  $('key-form').hidden = false;
  const err = $('key-error');
  err.hidden = !message;
  err.textContent = message || '';
  $('admin-key').value = '';
  $('admin-key').focus();
}

function init() {
  $('key-form').addEventListener('submit', async ev => {
    ev.preventDefault();
    const input = $('admin-key');
    adminKey = input.value.trim();
    input.value = ''; // the field keeps nothing either
    try {
      await api('GET', `/v1/admin/cdrs/days?from=${today()}&to=${today()}`);
    } catch (e) {
      if (e instanceof ApiError && e.status !== 401 && e.status !== 403 && e.status !== 404) {
        adminKey = null;
        $('key-error').textContent = problemText(e);
        $('key-error').hidden = false;
        return;
      }
      if (authFailed(e)) return;
    }
    $('key-form').hidden = true;
    $('key-error').hidden = true;
    $('tabs').hidden = false;
    $('sign-out').hidden = false;
    route();
  });
  $('sign-out').addEventListener('click', () => signOut());
  window.addEventListener('hashchange', route);
  $('admin-key').focus();
}

init();
