// The storefront: one page, hash routes, plain ES modules. The IM's web view opens it as
//   /#token=<IM session token>
// The token is read from the fragment (never a query string, so it reaches no server log), kept
// in sessionStorage for reloads, and removed from the address bar at once.
import { makeApi, ApiError, el, money, itemsOf, fmtTime, newIdempotencyKey } from '/web/lib/common.js';
import { makeT } from '/web/store/i18n.js';
import * as games from '/web/store/games.js';
import * as lobby from '/web/store/lobby.js';

const TOKEN_KEY = 'vas.token';
const LANG_KEY = 'vas.lang';
const POLL_MS = 3000;

const state = {
  token: null,
  lang: 'zh',
  me: null,
  categories: null,
  seen: new Set(),
  since: null,
  sinceMode: true,
  inbox: [],
  unread: 0,
  audio: null,
  playing: null,
  renderSeq: 0,
};

const t = makeT(() => state.lang);
const api = makeApi(() => state.token);
const $ = id => document.getElementById(id);

// --- start ----------------------------------------------------------------------------------
function readToken() {
  const h = location.hash;
  const m = /(?:^#|[&?])token=([^&]+)/.exec(h);
  if (m) {
    state.token = decodeURIComponent(m[1]);
    try { sessionStorage.setItem(TOKEN_KEY, state.token); } catch { /* private mode */ }
    const rest = h.replace(/(?:^#|[&?])token=[^&]+&?/, '#').replace(/^#&?$/, '');
    history.replaceState(null, '', location.pathname + (rest && rest !== '#' ? rest : '#/'));
  } else {
    try { state.token = sessionStorage.getItem(TOKEN_KEY); } catch { state.token = null; }
  }
}

function readLang() {
  let lang = null;
  try { lang = localStorage.getItem(LANG_KEY); } catch { /* ignore */ }
  if (!lang) lang = (navigator.language || 'zh').toLowerCase().startsWith('zh') ? 'zh' : 'en';
  state.lang = lang === 'en' ? 'en' : 'zh';
}

function applyLang() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('brand');
  $('skip-link').textContent = t('skip');
  $('brand-link').textContent = t('brand');
  $('inbox-label').textContent = t('inbox');
  $('inbox-title').textContent = t('inboxTitle');
  $('inbox-close').textContent = t('close');
  const lb = $('lang-button');
  lb.textContent = t('langSwitch');
  lb.lang = state.lang === 'zh' ? 'en' : 'zh-CN';
  lb.setAttribute('aria-label', t('langSwitchLabel'));
  document.querySelector('nav.tabs').setAttribute('aria-label', t('mainNav'));
  $('tab-browse').textContent = t('tabBrowse');
  $('tab-charts').textContent = t('tabCharts');
  $('tab-games').textContent = t('tabGames');
  $('tab-library').textContent = t('tabLibrary');
  $('confirm-cancel').textContent = t('cancel');
}

function toast(text, link) {
  const node = el('div', { class: 'toast' }, text, link ? [' ', el('a', { href: link.href }, link.text)] : null);
  $('toasts').append(node);
  setTimeout(() => node.remove(), 6000);
}

// A problem+json error → a sentence for the user (vars: price, available, gift).
function errorText(e, vars = {}) {
  switch (e.code) {
    case 'insufficient_funds': return t('errInsufficient', vars);
    case 'spend_cap_exceeded': return t('errCap');
    case 'price_changed': return t('errPriceChanged', vars);
    case 'already_owned': return vars.gift ? t('errGiftOwned') : t('errOwned');
    case 'account_suspended': return t('errSuspended');
    case 'forbidden': return t('errForbidden');
    case 'unauthorized': return t('errUnauthorized');
    case 'not_found': return t('errNotFound');
    case 'rate_limited': return t('errRate');
    case 'network': return t('errNetwork');
    case 'lobby_full': return t('errLobbyFull');
    case 'lobby_closed': return t('errLobbyClosed');
    case 'already_in_lobby': return t('errAlreadyInLobby');
    case 'not_lobby_owner': return t('errNotOwner');
    case 'bad_gateway': return t('errBadGateway');
    default: {
      const rid = e.problem && e.problem.request_id ? ` (${e.problem.request_id})` : '';
      return t('errGeneric', { detail: e.message + rid });
    }
  }
}

async function loadMe(force) {
  if (!state.token) return null;
  if (state.me && !force) return state.me;
  try {
    state.me = await api('GET', '/v1/me');
  } catch (e) {
    state.me = null;
    if (e.code === 'unauthorized' || e.code === 'forbidden') throw e;
  }
  return state.me;
}

// --- views ------------------------------------------------------------------------------------
function heading(text) {
  return el('h2', { tabindex: '-1', class: 'view-title' }, text);
}

function parseRoute() {
  const h = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = h.split('?');
  return { parts: path.split('/').filter(Boolean), query: new URLSearchParams(qs || '') };
}

const ctx = {
  api, t, el, money, toast, errorText, state, fmtTime, itemsOf, newIdempotencyKey,
  confirmPurchase: (...a) => confirmPurchase(...a), navigate: h => { location.hash = h; },
  loadMe, itemRow: (...a) => itemRow(...a), requireToken: () => requireToken(),
};

async function route() {
  const seq = ++state.renderSeq;
  const { parts, query } = parseRoute();
  const tab = { charts: 'charts', games: 'games', game: 'games', lobby: 'games', library: 'library' }[parts[0]] || 'browse';
  for (const a of document.querySelectorAll('nav.tabs a')) {
    if (a.dataset.tab === tab) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  lobby.stop();
  let view;
  try {
    switch (parts[0]) {
      case 'item': view = await viewItem(parts[1]); break;
      case 'charts': view = await viewCharts(query); break;
      case 'library': view = await viewLibrary(); break;
      case 'games': view = await viewGames(); break;
      case 'game': view = await games.viewGame(ctx, parts[1], lobby.lobbySection); break;
      case 'lobby': view = await lobby.viewLobby(ctx, parts[1]); break;
      default: view = await viewBrowse(query);
    }
  } catch (e) {
    if (!(e instanceof ApiError)) console.error(e);
    view = el('section', {}, heading(t('errGeneric', { detail: '' })),
      el('p', { class: 'error', role: 'alert' }, e instanceof ApiError ? errorText(e) : String(e)),
      el('button', { type: 'button', onclick: route }, t('retry')));
  }
  if (seq !== state.renderSeq) return; // a newer navigation won
  const main = $('main');
  main.replaceChildren(view);
  const h = main.querySelector('.view-title');
  if (h && state.routed) h.focus({ preventScroll: false });
  state.routed = true;
}

function requireToken() {
  if (state.token) return null;
  return el('p', { class: 'notice' }, t('notSignedIn'));
}

// One shared <audio> for list previews; the item page has its own with controls.
function togglePreview(item, button) {
  if (!state.audio) {
    state.audio = el('audio', { preload: 'none', id: 'list-audio', class: 'sr-only' });
    document.body.append(state.audio);
    state.audio.addEventListener('ended', () => setPlaying(null));
  }
  const a = state.audio;
  if (state.playing === button) {
    a.pause();
    setPlaying(null);
    return;
  }
  a.src = item.preview_url;
  a.play().catch(() => { /* autoplay refused: the user can use the item page's controls */ });
  setPlaying(button, item);
}

function setPlaying(button, item) {
  if (state.playing) {
    state.playing.setAttribute('aria-pressed', 'false');
    state.playing.firstChild.textContent = '▶';
  }
  state.playing = button;
  if (button) {
    button.setAttribute('aria-pressed', 'true');
    button.firstChild.textContent = '❚❚';
    if (item) button.dataset.item = item.id;
  }
}

function itemRow(item, rank) {
  const isGame = item.kind === 'game';
  const art = rank ? el('span', { class: 'rank', 'aria-label': `#${rank}` }, rank)
    : el('span', { class: 'art', 'aria-hidden': 'true' }, isGame ? '▦' : '♪');
  const side = el('div', { class: 'side' },
    el('span', { class: 'price' }, isGame && item.pricing === 'per_play' ? t('perPlayShort', { price: money(item.price, item.currency) }) : money(item.price, item.currency)));
  if (item.preview_url) {
    const b = el('button', {
      type: 'button', class: 'small play', 'aria-pressed': 'false',
      'aria-label': t('playLabel', { title: item.title }),
    }, el('span', { 'aria-hidden': 'true' }, '▶'));
    b.addEventListener('click', () => togglePreview(item, b));
    side.append(b);
  }
  const href = isGame ? `#/game/${item.id}` : `#/item/${item.id}`;
  return el('li', { class: 'item' + (isGame ? ' game' : ''), dataset: { id: item.id } },
    art,
    el('div', {},
      el('a', { class: 'title', href }, item.title),
      el('span', { class: 'sub' }, [...new Set([item.artist, item.provider && item.provider.name].filter(Boolean))].join(' · '))),
    side);
}

// A list with a "load more" button that follows next_cursor.
function pagedList(fetchPage, render) {
  const list = el('ul', { class: 'items' });
  const more = el('button', { type: 'button', class: 'more secondary' }, t('loadMore'));
  const status = el('p', { class: 'empty', hidden: true }, t('noResults'));
  let cursor = null;
  async function load() {
    more.disabled = true;
    more.textContent = t('loading');
    const page = await fetchPage(cursor);
    const items = itemsOf(page);
    const first = list.children.length;
    for (const it of items) list.append(render(it));
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
    more.disabled = false;
    more.textContent = t('loadMore');
    status.hidden = list.children.length > 0;
    // keyboard users continue where the new items start
    if (first > 0 && list.children[first]) list.children[first].querySelector('a')?.focus();
  }
  more.addEventListener('click', () => load().catch(e => toast(errorText(e))));
  return { node: el('div', {}, list, status, more), load };
}

async function categories() {
  if (!state.categories) state.categories = itemsOf(await api('GET', '/v1/catalog/categories', { cache: 'default' }));
  return state.categories;
}

async function viewBrowse(query) {
  const q = query.get('q') || '';
  const cat = query.get('category') || '';
  const sort = query.get('sort') || 'popular';
  const kind = query.get('kind') || (cat ? '' : 'ringtone');
  const cats = await categories();

  const input = el('input', { type: 'search', id: 'search-q', name: 'q', value: q, placeholder: t('searchPlaceholder'), autocomplete: 'off', enterkeyhint: 'search' });
  const form = el('form', { class: 'search', role: 'search', onsubmit: ev => {
    ev.preventDefault();
    const p = new URLSearchParams();
    if (input.value.trim()) p.set('q', input.value.trim());
    location.hash = '#/' + (p.toString() ? '?' + p : '');
  } },
  el('div', { class: 'grow' }, el('label', { for: 'search-q' }, t('search')), input),
  el('button', { type: 'submit', class: 'primary' }, t('searchButton')));

  const chip = (label, c) => el('li', {}, el('a', {
    href: '#/' + (c ? `?category=${encodeURIComponent(c)}` : ''),
    'aria-current': (c === cat && !q) ? 'true' : 'false',
  }, label));
  const chips = el('ul', { class: 'chips', 'aria-label': t('categories') },
    chip(t('allCategories'), ''),
    cats.filter(c => c.kind === 'ringtone').map(c => chip(`${c.name} (${c.item_count})`, c.slug)));

  const sortSel = el('select', { id: 'sort', onchange: () => {
    const p = new URLSearchParams(query);
    p.set('sort', sortSel.value);
    location.hash = '#/?' + p;
  } }, ['popular', 'new', 'price_asc', 'price_desc'].map(s => el('option', { value: s, selected: s === sort },
    t({ popular: 'sortPopular', new: 'sortNew', price_asc: 'sortPriceAsc', price_desc: 'sortPriceDesc' }[s]))));

  const params = new URLSearchParams({ sort, limit: '10' });
  if (q) params.set('q', q);
  if (cat) params.set('category', cat);
  if (kind && !q) params.set('kind', kind);
  const paged = pagedList(cursor => {
    const p = new URLSearchParams(params);
    if (cursor) p.set('cursor', cursor);
    return api('GET', '/v1/catalog/items?' + p, { cache: 'default' });
  }, it => itemRow(it));
  await paged.load();

  const catName = cat && (cats.find(c => c.slug === cat) || {}).name;
  return el('section', {},
    heading(q ? t('resultsFor', { q }) : (catName || t('browseTitle'))),
    form, chips,
    el('div', { class: 'row' }, el('div', {}, el('label', { for: 'sort' }, t('sort')), sortSel)),
    paged.node);
}

async function viewCharts(query) {
  const kind = query.get('kind') === 'game' ? 'game' : 'ringtone';
  const period = query.get('period') === 'day' ? 'day' : 'week';
  const page = await api('GET', `/v1/catalog/charts?kind=${kind}&period=${period}`, { cache: 'default' });
  const items = itemsOf(page);
  const toggle = (label, k, p) => el('li', {}, el('a', {
    href: `#/charts?kind=${k}&period=${p}`, 'aria-current': (k === kind && p === period) ? 'true' : 'false',
  }, label));
  return el('section', {},
    heading(t('chartsTitle')),
    el('ul', { class: 'chips', 'aria-label': t('chartsTitle') },
      toggle(`${t('ringtones')} · ${t('week')}`, 'ringtone', 'week'),
      toggle(`${t('ringtones')} · ${t('day')}`, 'ringtone', 'day'),
      toggle(`${t('games')} · ${t('week')}`, 'game', 'week'),
      toggle(`${t('games')} · ${t('day')}`, 'game', 'day')),
    items.length ? el('ol', { class: 'items', 'aria-label': t('chartsTitle') }, items.map(r => itemRow(r.item, r.rank)))
      : el('p', { class: 'empty' }, t('emptyChart')));
}

function priceLine(item) {
  if (item.kind !== 'game') return money(item.price, item.currency);
  if (item.pricing === 'pass') return t('pass', { price: money(item.price, item.currency), days: item.pass_days });
  return t('perPlay', { price: money(item.price, item.currency) });
}

async function viewItem(id) {
  const [item, cats] = await Promise.all([
    api('GET', `/v1/catalog/items/${encodeURIComponent(id)}`, { cache: 'default' }), categories()]);
  const cat = cats.find(c => c.slug === item.category);
  if (item.kind === 'game') {
    location.replace(`#/game/${item.id}`);
    return el('div');
  }
  const giftInput = el('input', { id: 'gift-to', name: 'gift_to', autocomplete: 'off', spellcheck: 'false' });
  const giftForm = el('form', { onsubmit: ev => {
    ev.preventDefault();
    const to = giftInput.value.trim();
    if (!to) { toast(t('errGiftUser')); giftInput.focus(); return; }
    confirmPurchase(item, { giftTo: to });
  } },
  el('h3', {}, t('gift')),
  el('p', { class: 'muted', id: 'gift-hint' }, t('giftHint')),
  el('div', { class: 'row' },
    el('div', { class: 'grow' }, el('label', { for: 'gift-to' }, t('giftTo')), giftInput),
    el('button', { type: 'submit', id: 'gift-button' }, t('giftButton'))));
  giftInput.setAttribute('aria-describedby', 'gift-hint');

  return el('section', { class: 'item-detail' },
    heading(item.title),
    el('div', { class: 'card' },
      el('dl', { class: 'details' },
        item.artist ? [el('dt', {}, t('artist')), el('dd', {}, item.artist)] : null,
        el('dt', {}, t('provider')), el('dd', {}, item.provider ? item.provider.name : ''),
        el('dt', {}, t('category')), el('dd', {}, el('a', { href: `#/?category=${encodeURIComponent(item.category)}` }, cat ? cat.name : item.category)),
        el('dt', {}, t('formats')), el('dd', {}, item.formats.map(f => `${f.format.toUpperCase()} (${Math.ceil(f.bytes / 1024)} KB)`).join(', ')),
        el('dt', {}, t('price')), el('dd', { id: 'item-price' }, priceLine(item))),
      item.preview_url ? [
        el('p', { id: 'preview-label', class: 'label' }, t('preview')),
        el('audio', { id: 'preview-audio', controls: true, preload: 'none', src: item.preview_url, 'aria-labelledby': 'preview-label' }),
      ] : null,
      requireToken(),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'primary', id: 'buy-button', disabled: !state.token,
          onclick: () => confirmPurchase(item, {}) }, t('buyFor', { price: money(item.price, item.currency) })))),
    state.token ? el('div', { class: 'card' }, giftForm) : null);
}

// --- buying: one confirmation, one Idempotency-Key ---------------------------------------------
// The key is made when the dialog opens and used by every attempt (double click, automatic retry
// after a network error or 503, the user's "try again"): the gateway replays the first result, so
// the account is charged at most once. A changed price is a new confirmation with a new key.
async function confirmPurchase(item, { giftTo, format } = {}) {
  const dlg = $('confirm-dialog');
  const okBtn = $('confirm-ok');
  const errBox = $('confirm-error');
  let me;
  try {
    me = await loadMe(true);
  } catch (e) {
    toast(errorText(e));
    return;
  }
  let current = item;
  let key = newIdempotencyKey('buy');
  let busy = false;

  function fill() {
    $('confirm-title').textContent = giftTo ? t('confirmGiftTitle') : t('confirmTitle');
    $('confirm-details').replaceChildren(...[
      el('dt', {}, t('confirmItem')), el('dd', { id: 'confirm-item' }, current.title),
      format ? [el('dt', {}, t('confirmFormat')), el('dd', {}, format.toUpperCase())] : null,
      el('dt', {}, t('confirmPrice')), el('dd', { id: 'confirm-price' }, priceLine(current)),
      giftTo ? [el('dt', {}, t('confirmGiftTo')), el('dd', { id: 'confirm-gift-to' }, giftTo)] : null,
      el('dt', {}, t('confirmAccount')), el('dd', { id: 'confirm-account' }, me ? `${me.msisdn} (${t(me.plan)})` : '—'),
    ].flat().filter(Boolean));
  }
  fill();
  errBox.hidden = true;
  okBtn.hidden = false;
  okBtn.disabled = false;
  okBtn.textContent = t('confirmOk');

  const form = $('confirm-form');
  const cancel = $('confirm-cancel');
  const done = () => {
    form.onsubmit = null;
    cancel.onclick = null;
    dlg.oncancel = null;
    if (dlg.open) dlg.close();
  };
  cancel.onclick = () => { if (!busy) done(); };
  dlg.oncancel = ev => { if (busy) ev.preventDefault(); else done(); };

  form.onsubmit = async ev => {
    ev.preventDefault();
    if (busy) return; // a second click of the same confirmation sends nothing
    busy = true;
    okBtn.disabled = true;
    okBtn.textContent = t('paying');
    dlg.setAttribute('aria-busy', 'true');
    errBox.hidden = true;
    const body = { item_id: current.id, expected_price: current.price };
    if (format) body.format = format;
    if (giftTo) body.gift_to = giftTo;
    try {
      const p = await api('POST', '/v1/purchases', { body, idem: key });
      busy = false;
      dlg.removeAttribute('aria-busy');
      done();
      state.me = null;
      if (giftTo) toast(t('gifted', { user: giftTo, title: current.title }));
      else toast(t('bought', { title: current.title, balance: money(p.balance_after, p.currency) }));
      if (!giftTo) location.hash = current.kind === 'game' ? `#/game/${current.id}` : '#/library';
    } catch (e) {
      busy = false;
      dlg.removeAttribute('aria-busy');
      let vars = { gift: !!giftTo, price: money(current.price, current.currency) };
      if (e.code === 'insufficient_funds') {
        const fresh = await loadMe(true).catch(() => null);
        if (fresh) me = fresh;
        vars.available = me ? money(me.available, me.currency) : '—';
      }
      if (e.code === 'price_changed') {
        try {
          current = await api('GET', `/v1/catalog/items/${current.id}`, { cache: 'no-cache' });
        } catch { /* keep the old one; the user can cancel */ }
        vars.price = money(current.price, current.currency);
        key = newIdempotencyKey('buy'); // a new confirmation of a new body
        fill();
        okBtn.textContent = t('confirmNewPrice');
        okBtn.disabled = false;
      } else if (e.code === 'network' || e.code === 'unavailable' || e.code === 'internal' || e.status >= 500) {
        okBtn.textContent = t('retry'); // same key: the retry cannot charge twice
        okBtn.disabled = false;
      } else {
        okBtn.hidden = true; // nothing to retry (funds, caps, owned, suspended…)
        cancel.textContent = t('close');
      }
      errBox.textContent = errorText(e, vars);
      errBox.hidden = false;
      errBox.focus?.();
    }
  };
  cancel.textContent = t('cancel');
  dlg.showModal();
  okBtn.focus();
}

// --- library and account -----------------------------------------------------------------------
function meCard(me) {
  const cell = (label, value, id) => el('div', {}, el('span', { class: 'muted' }, label), el('b', { id }, value));
  const cap = v => (v === null || v === undefined) ? t('none') : money(v, me.currency);
  return el('div', { class: 'card', 'aria-labelledby': 'account-title' },
    el('h3', { id: 'account-title' }, `${t('account')} ${me.msisdn} · ${t(me.plan)}`),
    el('div', { class: 'balance' },
      cell(t('balance'), money(me.balance, me.currency), 'me-balance'),
      cell(t('available'), money(me.available, me.currency), 'me-available'),
      cell(t('spentToday'), money(me.spent.today, me.currency), 'me-spent-today'),
      cell(t('spentMonth'), money(me.spent.month, me.currency), 'me-spent-month')),
    el('p', { class: 'muted' },
      `${t('capDaily')}: ${cap(me.caps && me.caps.daily)} · ${t('capMonthly')}: ${cap(me.caps && me.caps.monthly)}`,
      me.plan === 'postpaid' ? ` · ${t('creditLimit')}: ${money(me.credit_limit, me.currency)}` : '',
      me.held ? ` · ${t('held')}: ${money(me.held, me.currency)}` : ''));
}

async function download(ent, format, button) {
  button.disabled = true;
  const label = button.textContent;
  button.textContent = t('downloading');
  try {
    const link = await api('POST', `/v1/library/${ent.id}/download-links`, { body: { format } });
    const a = el('a', { href: link.url, download: '', class: 'sr-only' });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    toast(errorText(e));
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

function libraryRow(ent) {
  const item = ent.item || {};
  const status = { active: t('statusActive'), revoked: t('statusRevoked'), expired: t('statusExpired') }[ent.status] || ent.status;
  const buttons = ent.status === 'active' ? (item.formats || []).map(f => {
    const b = el('button', { type: 'button', class: 'small', 'aria-label': t('downloadLabel', { title: item.title, format: f.format.toUpperCase() }),
      dataset: { format: f.format } }, t('download', { format: f.format.toUpperCase() }));
    b.addEventListener('click', () => download(ent, f.format, b));
    return b;
  }) : [];
  return el('li', { class: 'card library-item', dataset: { item: item.id, entitlement: ent.id } },
    el('div', {}, el('a', { class: 'title', href: item.kind === 'game' ? `#/game/${item.id}` : `#/item/${item.id}` }, item.title),
      ' ', el('span', { class: `pill ${ent.status}` }, status)),
    el('div', { class: 'muted' }, fmtTime(ent.granted_at, state.lang),
      ent.expires_at ? ` · ${t('expires', { when: fmtTime(ent.expires_at, state.lang) })}` : ''),
    buttons.length ? el('div', { class: 'formats' }, buttons) : null);
}

async function viewLibrary() {
  const need = requireToken();
  if (need) return el('section', {}, heading(t('libraryTitle')), need);
  const me = await loadMe(true);
  const paged = pagedList(cursor => api('GET', '/v1/library?limit=20' + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '')), libraryRow);
  paged.node.querySelector('.empty').textContent = t('emptyLibrary');
  paged.node.querySelector('ul').classList.add('library');
  paged.node.querySelector('ul').id = 'library-list';
  await paged.load();
  return el('section', {}, heading(t('libraryTitle')), me ? meCard(me) : null,
    el('h3', {}, t('myRingtones')), paged.node);
}

async function viewGames() {
  const paged = pagedList(cursor => api('GET', '/v1/catalog/items?kind=game&limit=20' + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''), { cache: 'default' }), it => itemRow(it));
  await paged.load();
  return el('section', {}, heading(t('gamesTitle')), lobby.currentLobbyBanner(ctx), paged.node);
}

// --- the inbox: poll GET /v1/notifications?since=ID --------------------------------------------
function notificationText(n) {
  const d = n.data || {};
  const key = 'n_' + String(n.type).replace('.', '_');
  const vars = { ...d };
  if (d.amount !== undefined) vars.amount = money(d.amount, d.currency);
  if (d.balance !== undefined) vars.balance = money(d.balance, d.currency);
  if (d.period) vars.period = t(d.period === 'daily' ? 'periodDaily' : 'periodMonthly');
  vars.type = n.type;
  const s = t(key, vars);
  return s === key ? t('n_other', vars) : s;
}

function renderInbox() {
  const c = $('inbox-count');
  c.hidden = state.unread === 0;
  c.textContent = state.unread;
  $('inbox-button').setAttribute('aria-label', state.unread ? `${t('inbox')} (${t('newNotifications', { n: state.unread })})` : t('inbox'));
  const list = $('inbox-list');
  list.replaceChildren(...(state.inbox.length ? state.inbox.slice(0, 50).map(n => el('li', { dataset: { type: n.type } },
    el('div', {}, notificationText(n)),
    el('div', { class: 'muted' }, fmtTime(n.created_at, state.lang)),
    n.data && n.data.lobby_id ? el('a', { href: `#/lobby/${n.data.lobby_id}` }, t('openLobby')) : null))
    : [el('li', { class: 'muted' }, t('noNotifications'))]));
}

function deliver(items, announce) {
  const fresh = items.filter(n => !state.seen.has(n.id));
  for (const n of fresh) state.seen.add(n.id);
  if (!fresh.length) return;
  state.inbox = [...fresh.slice().reverse(), ...state.inbox].slice(0, 100);
  if (!announce) { renderInbox(); return; }
  state.unread += fresh.length;
  renderInbox();
  for (const n of fresh) {
    const lobby = n.data && n.data.lobby_id;
    toast(notificationText(n), lobby && n.type === 'lobby.invited' ? { href: `#/lobby/${lobby}`, text: t('openLobby') } : null);
    if (/^(purchase|gift|account)\./.test(n.type)) state.me = null;
    lobby.onNotification(ctx, n);
  }
}

async function pollOnce() {
  if (!state.token) return;
  if (state.since === null) {
    // First call: the newest page tells where "now" is; those items are old news.
    const page = await api('GET', '/v1/notifications?limit=20');
    const items = itemsOf(page);
    deliver(items.slice().reverse(), false);
    state.since = items.length ? items[0].id : '';
    return;
  }
  if (state.sinceMode && state.since !== '') {
    try {
      const page = await api('GET', `/v1/notifications?since=${encodeURIComponent(state.since)}&limit=50`);
      if (page && 'next_since' in page) {
        const items = itemsOf(page); // oldest first
        deliver(items, true);
        if (page.next_since) state.since = page.next_since;
        else if (items.length) state.since = items[items.length - 1].id;
        return;
      }
      state.sinceMode = false; // a gateway without since polling: compare newest pages instead
    } catch (e) {
      if (e.status !== 400) throw e;
      state.sinceMode = false;
    }
  }
  const items = itemsOf(await api('GET', '/v1/notifications?limit=20')); // newest first
  const newer = items.filter(n => state.since === '' || n.id > state.since).reverse();
  deliver(newer, true);
  if (items.length) state.since = items[0].id;
}

function startPolling() {
  let delay = POLL_MS;
  const tick = async () => {
    if (document.visibilityState === 'visible') {
      try {
        await pollOnce();
        delay = POLL_MS;
      } catch (e) {
        delay = Math.min(delay * 2, 60000);
        if (e.code === 'unauthorized') return; // the session ended: stop asking
      }
    }
    setTimeout(tick, delay);
  };
  tick();
}

// --- wiring -------------------------------------------------------------------------------------
function init() {
  readToken();
  readLang();
  applyLang();
  $('lang-button').addEventListener('click', () => {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    try { localStorage.setItem(LANG_KEY, state.lang); } catch { /* ignore */ }
    applyLang();
    renderInbox();
    route();
  });
  $('inbox-button').addEventListener('click', () => {
    state.unread = 0;
    renderInbox();
    $('inbox-dialog').showModal();
  });
  $('inbox-close').addEventListener('click', () => $('inbox-dialog').close());
  window.addEventListener('hashchange', route);
  renderInbox();
  route();
  startPolling();
}

init();
