// Lobbies: the game page's lobby part (open lobbies, create, quick match) and the lobby page
// (members, ready, invite, kick, leave, start, the match ticket). The lobby page refreshes itself
// every few seconds while it is shown, and at once when the inbox brings a lobby.* notification.
const LOBBY_KEY = 'vas.lobby';
const REFRESH_MS = 2500;

let timer = null;
let shown = null; // { id, refresh } of the lobby page on screen

export function stop() {
  if (timer) clearInterval(timer);
  timer = null;
  shown = null;
}

function myUserId(ctx) {
  const tok = ctx.state.token;
  if (!tok) return null;
  try {
    const part = tok.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(escape(atob(part + '='.repeat((4 - part.length % 4) % 4))));
    return JSON.parse(json).sub || null;
  } catch {
    return null;
  }
}

function rememberLobby(id) {
  try {
    if (id) sessionStorage.setItem(LOBBY_KEY, String(id));
    else sessionStorage.removeItem(LOBBY_KEY);
  } catch { /* ignore */ }
}

function currentLobby() {
  try { return sessionStorage.getItem(LOBBY_KEY); } catch { return null; }
}

export function currentLobbyBanner(ctx) {
  const id = currentLobby();
  if (!id) return null;
  const { el, t } = ctx;
  return el('p', { class: 'notice' }, el('a', { href: `#/lobby/${id}`, id: 'current-lobby-link' }, t('openLobby') + ' →'));
}

export function onNotification(ctx, n) {
  const lobbyId = n.data && n.data.lobby_id;
  if (shown && lobbyId && String(lobbyId) === String(shown.id)) shown.refresh();
}

function lobbyRow(ctx, lobby) {
  const { el, t } = ctx;
  const join = el('button', { type: 'button', class: 'small primary', 'aria-label': `${t('join')} ${lobby.name || lobby.id}` }, t('join'));
  join.addEventListener('click', async () => {
    join.disabled = true;
    try {
      const l = await ctx.api('POST', `/v1/lobbies/${encodeURIComponent(lobby.id)}/join`);
      rememberLobby(l.id);
      ctx.navigate(`#/lobby/${l.id}`);
    } catch (e) {
      ctx.toast(ctx.errorText(e));
      join.disabled = false;
    }
  });
  return el('li', { class: 'item game lobby-row', dataset: { lobby: lobby.id } },
    el('span', { class: 'art', 'aria-hidden': 'true' }, '⚑'),
    el('div', {}, el('a', { class: 'title', href: `#/lobby/${lobby.id}` }, lobby.name || `#${lobby.id}`),
      el('span', { class: 'sub' }, `${lobby.members.length}/${lobby.max_players} · ${lobby.owner}`)),
    el('div', { class: 'side' }, join));
}

// The game page's lobby part: open lobbies for the game (paged), create a lobby, quick match.
export async function lobbySection(ctx, game) {
  const { el, t, api } = ctx;
  // open lobbies, with paging
  const list = el('ul', { class: 'items', id: 'lobby-list', 'aria-label': t('lobbies') });
  const empty = el('p', { class: 'empty' }, t('noLobbies'));
  const more = el('button', { type: 'button', class: 'more secondary', hidden: true }, t('loadMore'));
  let cursor = null;
  async function load(reset) {
    if (reset) { list.replaceChildren(); cursor = null; }
    const page = await api('GET', `/v1/lobbies?game_id=${encodeURIComponent(game.id)}&limit=20` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''));
    for (const l of ctx.itemsOf(page)) list.append(lobbyRow(ctx, l));
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
    empty.hidden = list.children.length > 0;
  }
  more.addEventListener('click', () => load(false).catch(e => ctx.toast(ctx.errorText(e))));
  await load(true);

  // create a lobby
  const name = el('input', { id: 'lobby-name', maxlength: '64', autocomplete: 'off' });
  const max = el('select', { id: 'lobby-max' });
  for (let n = Math.max(game.min_players || 2, 2); n <= (game.max_players || 2); n++) {
    max.append(el('option', { value: n, selected: n === game.max_players }, n));
  }
  const vis = el('select', { id: 'lobby-visibility' },
    el('option', { value: 'public' }, t('public')), el('option', { value: 'private' }, t('private')));
  const create = el('form', { id: 'create-lobby', onsubmit: async ev => {
    ev.preventDefault();
    const btn = create.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      const body = { game_id: game.id, max_players: Number(max.value), visibility: vis.value };
      if (name.value.trim()) body.name = name.value.trim();
      const l = await api('POST', '/v1/lobbies', { body });
      rememberLobby(l.id);
      ctx.navigate(`#/lobby/${l.id}`);
    } catch (e) {
      ctx.toast(ctx.errorText(e));
      btn.disabled = false;
    }
  } },
  el('h3', {}, t('createLobby')),
  el('label', { for: 'lobby-name' }, t('lobbyName')), name,
  el('div', { class: 'row' },
    el('div', { class: 'grow' }, el('label', { for: 'lobby-max' }, t('maxPlayers')), max),
    el('div', { class: 'grow' }, el('label', { for: 'lobby-visibility' }, t('visibility')), vis)),
  el('div', { class: 'actions' },
    el('button', { type: 'button', id: 'quick-match', onclick: async ev => {
      ev.target.disabled = true;
      try {
        const l = await api('POST', '/v1/lobbies/quick-match', { body: { game_id: game.id } });
        rememberLobby(l.id);
        ctx.navigate(`#/lobby/${l.id}`);
      } catch (e) {
        ctx.toast(ctx.errorText(e));
        ev.target.disabled = false;
      }
    } }, t('quickMatch')),
    el('button', { type: 'submit', class: 'primary', id: 'create-lobby-button' }, t('createLobby'))));

  return [currentLobbyBanner(ctx), el('h3', {}, t('lobbies')), list, empty, more, el('div', { class: 'card' }, create)];
}

export async function viewLobby(ctx, id) {
  const { el, t, api } = ctx;
  const me = myUserId(ctx);
  const section = el('section', { class: 'lobby', dataset: { lobby: id } });
  const head = el('h2', { tabindex: '-1', class: 'view-title' }, t('lobbyTitle'));
  const body = el('div');
  const errBox = el('p', { class: 'error', role: 'alert', hidden: true, id: 'lobby-error' });
  section.append(head, errBox, body);
  let game = null;

  const act = (label, fn, opts = {}) => {
    const b = el('button', { type: 'button', class: opts.primary ? 'primary' : '', id: opts.id }, label);
    b.addEventListener('click', async () => {
      b.disabled = true;
      errBox.hidden = true;
      try {
        await fn();
      } catch (e) {
        let text = ctx.errorText(e);
        if (e.status === 402 && e.problem) {
          const who = e.problem.players || [];
          text = t('errStartPay', { who: who.map(w => w.code ? `${w.user_id} (${w.code})` : w.user_id).join(', ') || e.message });
        }
        errBox.textContent = text;
        errBox.hidden = false;
      } finally {
        b.disabled = false;
      }
    });
    return b;
  };

  function render(lobby) {
    head.textContent = `${t('lobbyTitle')}: ${lobby.name || '#' + lobby.id}`;
    const mine = lobby.members.find(m => m.user_id === me);
    const owner = lobby.owner === me;
    const nodes = [];
    nodes.push(el('p', {}, el('span', { class: `pill ${lobby.state}`, id: 'lobby-state', dataset: { state: lobby.state } }, t('lobbyState_' + lobby.state)),
      ' ', game ? game.title : '', ` · ${lobby.members.length}/${lobby.max_players}`,
      lobby.visibility === 'private' ? ` · ${t('private')}` : ''));
    nodes.push(el('h3', {}, t('members')));
    nodes.push(el('ul', { class: 'members', id: 'lobby-members' }, lobby.members.map(m => el('li', { dataset: { user: m.user_id, ready: String(!!m.ready) } },
      el('span', {}, m.user_id, m.user_id === lobby.owner ? ` (${t('owner')})` : ''),
      el('span', {}, el('span', { class: 'pill ' + (m.ready ? 'ok' : '') }, m.ready ? t('ready') : t('notReady')),
        owner && m.user_id !== me && lobby.state === 'open'
          ? [' ', act(t('kick'), async () => render(await api('POST', `/v1/lobbies/${lobby.id}/kick`, { body: { user_id: m.user_id } })))]
          : null)))));
    if (lobby.state === 'open' && mine) {
      nodes.push(el('div', { class: 'actions' },
        act(mine.ready ? t('setNotReady') : t('setReady'), async () => render(await api('POST', `/v1/lobbies/${lobby.id}/ready`, { body: { ready: !mine.ready } })), { id: 'ready-button' }),
        act(t('leave'), async () => {
          await api('POST', `/v1/lobbies/${lobby.id}/leave`);
          rememberLobby(null);
          ctx.toast(t('left'));
          ctx.navigate(`#/game/${lobby.game_id}`);
        }, { id: 'leave-button' }),
        owner ? act(t('start') + (game && game.pricing === 'per_play' ? ` (${ctx.money(game.price, game.currency)})` : ''), async () => {
          const key = startKey(lobby.id);
          render(await api('POST', `/v1/lobbies/${lobby.id}/start`, { idem: key }));
        }, { primary: true, id: 'start-button' }) : null));
      const ids = el('input', { id: 'invite-ids', autocomplete: 'off', spellcheck: 'false' });
      nodes.push(el('form', { class: 'card', id: 'invite-form', onsubmit: async ev => {
        ev.preventDefault();
        const users = ids.value.split(/[,，\s]+/).map(s => s.trim()).filter(Boolean);
        if (!users.length) { ids.focus(); return; }
        try {
          await api('POST', `/v1/lobbies/${lobby.id}/invite`, { body: { user_ids: users } });
          ctx.toast(t('invited', { users: users.join(', ') }));
          ids.value = '';
        } catch (e) {
          errBox.textContent = ctx.errorText(e);
          errBox.hidden = false;
        }
      } },
      el('h3', {}, t('invite')),
      el('label', { for: 'invite-ids' }, t('inviteIds')),
      el('div', { class: 'row' }, el('div', { class: 'grow' }, ids), el('button', { type: 'submit' }, t('inviteButton')))));
    } else if (lobby.state === 'open' && !mine) {
      nodes.push(el('div', { class: 'actions' }, act(t('join'), async () => {
        const l = await api('POST', `/v1/lobbies/${lobby.id}/join`);
        rememberLobby(l.id);
        render(l);
      }, { primary: true, id: 'join-button' })));
    }
    if (lobby.state === 'started' && mine) {
      const box = el('div', { class: 'card', id: 'match' }, el('h3', {}, t('matchTitle')),
        lobby.match ? el('p', {}, `${t('server')}: `, el('b', { id: 'match-server' }, `${lobby.match.server.host}:${lobby.match.server.port}`)) : null);
      nodes.push(box);
      api('GET', `/v1/lobbies/${lobby.id}/ticket`).then(tk => {
        box.append(el('p', {}, `${t('ticket')}:`), el('p', { class: 'ticket', id: 'match-ticket' }, tk.ticket),
          el('p', { class: 'muted' }, t('ticketExpires', { when: ctx.fmtTime(tk.expires_at, ctx.state.lang) })));
      }).catch(e => box.append(el('p', { class: 'error' }, ctx.errorText(e))));
    }
    if (lobby.state === 'closed' || (lobby.state !== 'open' && !mine)) rememberLobby(null);
    body.replaceChildren(...nodes.filter(Boolean));
  }

  let lastJson = '';
  async function refresh() {
    try {
      const lobby = await api('GET', `/v1/lobbies/${encodeURIComponent(id)}`);
      const json = JSON.stringify(lobby);
      if (json === lastJson) return;
      lastJson = json;
      if (document.activeElement && body.contains(document.activeElement) && document.activeElement.tagName === 'INPUT') return;
      render(lobby);
    } catch (e) {
      if (e.code === 'not_found') { rememberLobby(null); stop(); }
    }
  }

  const lobby = await api('GET', `/v1/lobbies/${encodeURIComponent(id)}`);
  lastJson = JSON.stringify(lobby);
  game = await api('GET', `/v1/catalog/items/${encodeURIComponent(lobby.game_id)}`, { cache: 'default' }).catch(() => null);
  render(lobby);
  stop();
  shown = { id, refresh };
  timer = setInterval(() => { if (document.visibilityState === 'visible') refresh(); }, REFRESH_MS);
  return section;
}

// One Idempotency-Key per start of a lobby, kept for this page's life, so a double click or a
// retry of "start" charges each member at most once.
const startKeys = new Map();
function startKey(lobbyId) {
  if (!startKeys.has(lobbyId)) startKeys.set(lobbyId, `start-${lobbyId}-${crypto.randomUUID ? crypto.randomUUID() : Date.now()}`);
  return startKeys.get(lobbyId);
}
