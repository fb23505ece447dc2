// A game's page: what it costs (per play or a pass, bought with the same confirmation as a
// ringtone) and, when the lobby module is there, its open lobbies.
export async function viewGame(ctx, id, lobbySection) {
  const { el, t, api, money } = ctx;
  const game = await api('GET', `/v1/catalog/items/${encodeURIComponent(id)}`, { cache: 'default' });
  const head = el('h2', { tabindex: '-1', class: 'view-title' }, game.title);
  const info = el('div', { class: 'card' },
    el('dl', { class: 'details' },
      el('dt', {}, t('provider')), el('dd', {}, game.provider ? game.provider.name : ''),
      el('dt', {}, t('playersLabel')), el('dd', {}, t('players', { min: game.min_players, max: game.max_players })),
      el('dt', {}, t('price')), el('dd', {}, game.pricing === 'pass'
        ? t('pass', { price: money(game.price, game.currency), days: game.pass_days })
        : t('perPlay', { price: money(game.price, game.currency) }))),
    ctx.requireToken(),
    game.pricing === 'pass' && ctx.state.token ? el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'primary', id: 'buy-button', onclick: () => ctx.confirmPurchase(game, {}) },
        t('buyPass', { days: game.pass_days }))) : null);
  if (!ctx.state.token || !lobbySection) return el('section', {}, head, info);
  let lobbies;
  try {
    lobbies = await lobbySection(ctx, game);
  } catch (e) { // the game and its pass stay usable when lobbies cannot be listed
    lobbies = el('p', { class: 'error', role: 'alert' }, ctx.errorText(e));
  }
  return el('section', {}, head, info, lobbies);
}
