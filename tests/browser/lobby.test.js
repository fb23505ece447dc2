// Game lobbies in two browser contexts (two IM users on two phones): create, invite, join,
// ready, start, the match ticket.
import { test, before, after } from 'node:test';
import { assert, launch, phoneContext, shot, newSubscriber, me, user, openStore, demoGame } from './lib.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function perPlayGame() { // 坦克大战 Tank Battle: per play, 2–4 players
  return demoGame('Tank Battle', g => g.pricing === 'per_play' && g.min_players <= 2 && g.max_players >= 2);
}

// Catches: a lobby page that cannot create, list, join, ready or start; an invite that never
// reaches the invitee's inbox polling; a start that is not shown to the other member, or that
// charges a member other than once.
test('a lobby created in one browser context is joined from a second one and started', async () => {
  const game = await perPlayGame();
  const alice = await newSubscriber(1000, 'lob');
  const bob = await newSubscriber(1000, 'lob');
  const ctxA = await phoneContext(browser);
  const ctxB = await phoneContext(browser, { locale: 'en-US' });
  try {
    // Bob has the store open; Alice creates a lobby for the game and invites him by IM user id
    const { page: b, errors: errB } = await openStore(ctxB, bob, '/games');
    const { page: a, errors: errA } = await openStore(ctxA, alice, `/game/${game.id}`);
    await a.locator('#lobby-name').fill('周末开黑 Weekend');
    await a.locator('#create-lobby-button').click();
    await a.locator('#lobby-members li').first().waitFor();
    const lobbyId = decodeURIComponent(/#\/lobby\/(.+)$/.exec(a.url())[1]);
    await a.locator('#invite-ids').fill(bob.im);
    await a.locator('#invite-form button[type=submit]').click();

    // Bob's page learns of the invitation by polling his inbox, and he joins from the game's list
    await b.locator('#inbox-count:not([hidden])').waitFor({ timeout: 20000 });
    // from then on the page polls with since = the newest id it has seen
    const poll = await b.waitForRequest(r => r.url().includes('/v1/notifications?since='));
    assert.equal((await (await poll.response()).json()).next_since !== undefined, true);
    await b.locator('#inbox-button').click();
    await b.locator(`#inbox-list li[data-type="lobby.invited"] a[href="#/lobby/${lobbyId}"]`).waitFor();
    await shot(b, '09-inbox-invite');
    await b.locator('#inbox-close').click();
    await b.evaluate(id => { location.hash = `#/game/${id}`; }, game.id);
    await b.locator(`#lobby-list li[data-lobby="${lobbyId}"]`).waitFor();
    await shot(b, '10-lobbies');
    await b.locator(`#lobby-list li[data-lobby="${lobbyId}"] button`).click();
    await b.locator(`#lobby-members li[data-user="${bob.im}"]`).waitFor();

    // Alice's page shows Bob (refresh by polling); both get ready; Alice starts
    await a.locator(`#lobby-members li[data-user="${bob.im}"]`).waitFor();
    await b.locator('#ready-button').click();
    await b.locator(`#lobby-members li[data-user="${bob.im}"][data-ready="true"]`).waitFor();
    await a.locator('#ready-button').click();
    await a.locator(`#lobby-members li[data-user="${bob.im}"][data-ready="true"]`).waitFor();
    await a.locator(`#lobby-members li[data-user="${alice.im}"][data-ready="true"]`).waitFor();
    await shot(a, '11-lobby-ready');
    await a.locator('#start-button').dblclick();

    for (const p of [a, b]) {
      await p.locator('#lobby-state[data-state="started"]').waitFor({ timeout: 20000 });
      await p.locator('#match-ticket').waitFor();
    }
    await shot(b, '12-lobby-started');
    const lobby = await user(alice.token, 'GET', `/v1/lobbies/${encodeURIComponent(lobbyId)}`);
    assert.equal(lobby.state, 'started');
    assert.ok(lobby.match && lobby.match.server, 'a match with a server');
    assert.equal(await b.locator('#match-server').textContent(), `${lobby.match.server.host}:${lobby.match.server.port}`);
    // per-play: each member charged the fee once, however many clicks
    assert.equal((await me(alice)).balance, 1000 - game.price);
    assert.equal((await me(bob)).balance, 1000 - game.price);
    assert.deepEqual(errA, []);
    assert.deepEqual(errB, []);
  } finally {
    await ctxA.close();
    await ctxB.close();
  }
});
