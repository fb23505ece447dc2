// The storefront in Debian's chromium at phone width: browse, preview, buy, library, download;
// refusals that charge nothing; one charge per confirmation whatever the clicks and retries.
import { test, before, after } from 'node:test';
import fs from 'node:fs';
import {
  assert, launch, phoneContext, shot, newSubscriber, me, purchases, demoRingtone, demoGame, openStore, BASE,
} from './lib.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// Catches: a page that cannot list, search (Chinese and Latin), play the free preview, confirm a
// purchase with the account charged, show the entitlement, or hand over the file.
test('browse → preview plays → buy → library → download returns the file', async () => {
  const sub = await newSubscriber(5000);
  const item = await demoRingtone('茉莉');
  const midi = item.formats.find(f => f.format === 'midi');
  const ctx = await phoneContext(browser);
  const { page, errors } = await openStore(ctx, sub);
  try {
    await page.locator('ul.items li.item').first().waitFor();
    await shot(page, '01-browse');

    // search, Chinese then Latin
    await page.getByLabel(/搜索铃声和游戏/).fill('茉莉');
    await page.getByRole('button', { name: '搜索' }).click();
    await page.locator(`li.item[data-id="${item.id}"]`).waitFor();
    await page.getByLabel(/搜索铃声和游戏/).fill('mo li');
    await page.getByRole('button', { name: '搜索' }).click();
    await page.locator('.view-title', { hasText: 'mo li' }).waitFor();
    await page.locator(`li.item[data-id="${item.id}"]`).waitFor();
    await shot(page, '02-search');

    // item details and the free preview, played in the page
    await page.locator(`li.item[data-id="${item.id}"] a.title`).click();
    await page.locator('.view-title', { hasText: item.title }).waitFor();
    const audio = page.locator('#preview-audio');
    assert.equal(await audio.getAttribute('src'), `/v1/previews/${item.id}`);
    await audio.evaluate(a => a.play());
    await page.waitForFunction(() => {
      const a = document.getElementById('preview-audio');
      return a.readyState >= 2 && !a.error; // HAVE_CURRENT_DATA: real MP3 data decoded
    });
    const played = await audio.evaluate(a => ({ duration: a.duration, error: a.error && a.error.code }));
    assert.ok(played.duration > 1, `preview duration ${played.duration}`);
    await audio.evaluate(a => a.pause());
    await shot(page, '03-item');

    // buy: the confirmation shows item, price and the masked account
    const account = await me(sub);
    await page.locator('#buy-button').click();
    const dlg = page.locator('#confirm-dialog');
    await dlg.waitFor();
    assert.equal(await page.locator('#confirm-item').textContent(), item.title);
    assert.equal(await page.locator('#confirm-price').textContent(), `¥${(item.price / 100).toFixed(2)}`);
    assert.match(await page.locator('#confirm-account').textContent(), new RegExp(account.msisdn.replace(/\*/g, '\\*')));
    assert.match(account.msisdn, /\*{4}/);
    await shot(page, '04-confirm');
    assert.equal((await me(sub)).balance, 5000, 'nothing is charged before the confirmation');
    await page.locator('#confirm-ok').click();

    // the library shows it, and a balance that went down by the price
    await page.locator(`#library-list li[data-item="${item.id}"]`).waitFor();
    await page.locator('#me-balance', { hasText: `¥${((5000 - item.price) / 100).toFixed(2)}` }).waitFor();
    assert.equal((await me(sub)).balance, 5000 - item.price);
    await shot(page, '05-library');

    // the download button returns the file
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator(`#library-list li[data-item="${item.id}"] button[data-format="midi"]`).click(),
    ]);
    const file = fs.readFileSync(await download.path());
    assert.equal(file.length, midi.bytes);
    assert.equal(file.subarray(0, 4).toString('latin1'), 'MThd');

    // charts render (ranked list or the empty-period message)
    await page.locator('#tab-charts').click();
    await page.locator('main ol.items li.item, main p.empty').first().waitFor();
    await shot(page, '06-charts');
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

// Catches: an insufficient-funds refusal shown as success or as a raw error, or any charge.
test('insufficient funds: the error is shown and nothing is charged', async () => {
  const item = await demoRingtone('茉莉');
  const sub = await newSubscriber(item.price - 1);
  const ctx = await phoneContext(browser, { locale: 'en-US' });
  const { page, errors } = await openStore(ctx, sub, `/item/${item.id}`);
  try {
    await page.locator('#buy-button').click();
    await page.locator('#confirm-ok').click();
    const err = page.locator('#confirm-error');
    await err.waitFor();
    const text = await err.textContent();
    assert.match(text, /余额不足|Insufficient funds/);
    assert.match(text, new RegExp(`¥${((item.price - 1) / 100).toFixed(2)}`)); // what is available
    assert.equal(await page.locator('#confirm-ok').isVisible(), false, 'no retry offered for a refusal');
    await shot(page, '08-insufficient-funds');
    const after = await me(sub);
    assert.equal(after.balance, item.price - 1);
    assert.equal(after.spent.today, 0);
    assert.deepEqual(await purchases(sub), []);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

// Catches: a confirm button that sends a purchase per click (no guard, or a new key per click).
test('a double-clicked confirm charges once', async () => {
  const item = await demoRingtone('茉莉');
  const sub = await newSubscriber(5000);
  const ctx = await phoneContext(browser);
  const { page, errors } = await openStore(ctx, sub, `/item/${item.id}`);
  try {
    const keys = [];
    page.on('request', r => {
      if (r.method() === 'POST' && r.url().endsWith('/v1/purchases')) keys.push(r.headers()['idempotency-key']);
    });
    await page.locator('#buy-button').click();
    await page.locator('#confirm-ok').dblclick();
    await page.locator(`#library-list li[data-item="${item.id}"]`).waitFor();
    const list = await purchases(sub);
    assert.equal(list.length, 1);
    assert.equal((await me(sub)).balance, 5000 - item.price);
    assert.ok(keys.length >= 1 && keys.every(k => k && k === keys[0]), `keys ${keys}`);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

// Catches: a retry after a lost response that uses a new Idempotency-Key (and charges again).
test('a purchase whose response is lost is retried with the same key and charged once', async () => {
  const item = await demoRingtone('Mo Li');
  const sub = await newSubscriber(5000);
  const ctx = await phoneContext(browser);
  const { page, errors } = await openStore(ctx, sub, `/item/${item.id}`);
  try {
    const keys = [];
    let lost = false;
    await page.route('**/v1/purchases', async route => {
      keys.push(route.request().headers()['idempotency-key']);
      if (!lost) {
        lost = true;
        await route.fetch(); // the gateway commits the purchase…
        return route.abort('connectionreset'); // …and the answer never reaches the phone
      }
      return route.continue();
    });
    await page.locator('#buy-button').click();
    await page.locator('#confirm-ok').click();
    await page.locator(`#library-list li[data-item="${item.id}"]`).waitFor();
    assert.equal(keys.length, 2);
    assert.equal(keys[0], keys[1]);
    assert.equal((await purchases(sub)).length, 1);
    assert.equal((await me(sub)).balance, 5000 - item.price);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

// Catches: a changed price charged without a new confirmation.
test('a price change asks again before charging the new price', async () => {
  const item = await demoRingtone('Mo Li');
  const sub = await newSubscriber(5000);
  const ctx = await phoneContext(browser, { locale: 'en-US' });
  const { page, errors } = await openStore(ctx, sub, `/item/${item.id}`);
  try {
    await page.locator('#buy-button').click();
    await page.locator('#confirm-dialog').waitFor();
    // the price changes while the dialog is open: the page's expected_price is stale
    await page.route('**/v1/purchases', route => {
      const body = JSON.parse(route.request().postData());
      body.expected_price = item.price + 1;
      return route.continue({ postData: JSON.stringify(body) });
    }, { times: 1 });
    await page.locator('#confirm-ok').click();
    await page.locator('#confirm-error').waitFor();
    assert.match(await page.locator('#confirm-error').textContent(), /price has changed|价格已变/);
    assert.equal((await me(sub)).balance, 5000);
    await page.locator('#confirm-ok').click();
    await page.locator(`#library-list li[data-item="${item.id}"]`).waitFor();
    assert.equal((await purchases(sub)).length, 1);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

// Catches: a gift charged to the wrong account or granted to the buyer.
test('a gift charges the buyer and appears in the buddy\'s library', async () => {
  const item = await demoRingtone('茉莉');
  const buyer = await newSubscriber(5000);
  const buddy = await newSubscriber(0);
  const ctx = await phoneContext(browser);
  const { page, errors } = await openStore(ctx, buyer, `/item/${item.id}`);
  try {
    await page.locator('#gift-to').fill(buddy.im);
    await page.locator('#gift-button').click();
    assert.equal(await page.locator('#confirm-gift-to').textContent(), buddy.im);
    await page.locator('#confirm-ok').click();
    await page.locator('#confirm-dialog').waitFor({ state: 'hidden' });
    assert.equal((await me(buyer)).balance, 5000 - item.price);
    const ctx2 = await phoneContext(browser);
    const { page: p2 } = await openStore(ctx2, buddy, '/library');
    await p2.locator(`#library-list li[data-item="${item.id}"]`).waitFor();
    await ctx2.close();
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

// Catches: a storefront that needs the token in a query string (it would reach the logs), or
// a missing page at /.
test('the token travels in the fragment only, and the page works without one', async () => {
  const ctx = await phoneContext(browser, { locale: 'en-US' });
  const page = await ctx.newPage();
  const seen = [];
  page.on('request', r => seen.push(r.url()));
  try {
    await page.goto(`${BASE}/#token=secret-token-value`);
    await page.locator('main .view-title').first().waitFor();
    assert.ok(!page.url().includes('secret-token-value'), 'the token is removed from the address bar');
    assert.ok(seen.every(u => !u.includes('secret-token-value')), 'no URL carries the token');
    await page.goto(`${BASE}/#/`);
    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await page.locator('ul.items li.item').first().waitFor();
    await page.locator('#lang-button').click();
    await page.locator('#tab-browse', { hasText: /商店|Store/ }).waitFor();
  } finally {
    await ctx.close();
  }
});

// Catches: a games tab that cannot list games or buy a pass through the same confirmation.
test('the games tab lists games and a pass is bought with a confirmation', async () => {
  const game = await demoGame('Snake Arena', g => g.pricing === 'pass');
  const sub = await newSubscriber(game.price + 100);
  const ctx = await phoneContext(browser);
  const { page, errors } = await openStore(ctx, sub, '/games');
  try {
    await page.locator('ul.items li.item.game').first().waitFor();
    await shot(page, '07-games');
    await page.evaluate(id => { location.hash = `#/game/${id}`; }, game.id);
    await page.locator('.view-title', { hasText: game.title }).waitFor();
    await page.locator('#buy-button').click();
    assert.equal(await page.locator('#confirm-item').textContent(), game.title);
    await page.locator('#confirm-ok').click();
    await page.locator('#confirm-dialog').waitFor({ state: 'hidden' });
    const list = await purchases(sub);
    assert.equal(list.length, 1);
    assert.equal(list[0].item_id, game.id);
    assert.equal((await me(sub)).balance, 100);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

// Catches: controls without a label, a purchase flow that needs a mouse, a dialog that Escape
// does not close (or that charges on the way out), focus lost after the dialog.
test('keyboard only: labelled controls, buy with Tab and Enter, Escape cancels', async () => {
  const item = await demoRingtone('茉莉');
  const sub = await newSubscriber(5000);
  const ctx = await phoneContext(browser, { locale: 'en-US' });
  const { page, errors } = await openStore(ctx, sub, `/item/${item.id}`);
  try {
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button, audio')]
      .filter(e => e.offsetParent !== null || e.tagName === 'AUDIO')
      .filter(e => !((e.labels && e.labels.length) || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')
        || (e.tagName === 'BUTTON' && e.textContent.trim())))
      .map(e => e.outerHTML.slice(0, 80)));
    assert.deepEqual(unlabelled, []);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');

    const tabTo = async id => {
      for (let i = 0; i < 40; i++) {
        if (await page.evaluate(() => document.activeElement && document.activeElement.id) === id) return;
        await page.keyboard.press('Tab');
      }
      assert.fail(`Tab never reached #${id}`);
    };
    await tabTo('buy-button');
    await page.keyboard.press('Enter');
    await page.locator('#confirm-dialog[open]').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'confirm-ok');
    await page.keyboard.press('Escape');
    await page.locator('#confirm-dialog').waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'buy-button', 'focus returns to the button');
    assert.equal((await me(sub)).balance, 5000);

    await page.keyboard.press('Enter');
    await page.locator('#confirm-dialog[open]').waitFor();
    await page.keyboard.press('Enter');
    await page.locator(`#library-list li[data-item="${item.id}"]`).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.classList.contains('view-title')), true,
      'focus moves to the new view\'s heading');
    assert.equal((await me(sub)).balance, 5000 - item.price);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});
