// The console's subscriber look-up and refund action (needs GET /v1/admin/subscribers?q= and
// GET /v1/admin/subscribers/{msisdn}/purchases).
import { test, before, after } from 'node:test';
import { assert, launch, shot, newSubscriber, user, admin, demoRingtone } from './lib.js';
import { openConsole, buy } from './console_lib.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// Catches: a refund without a confirmation, sent twice, or not visible afterwards.
test("a refund made from the console appears in the subscriber's purchases", async () => {
  const sub = await newSubscriber(5000);
  const item = await demoRingtone('茉莉');
  const purchase = await buy(sub, item);
  const { ctx, page, errors } = await openConsole(browser, { width: 390, height: 844 });
  try {
    await page.getByRole('link', { name: /Subscribers/ }).click();
    await page.getByLabel(/Phone number prefix or IM user id/).fill(sub.msisdn);
    await page.getByRole('button', { name: /Look up/ }).click();
    await page.locator(`#sub-table tr[data-msisdn="${sub.msisdn}"] button`).click();
    const prow = page.locator(`#purchases tr[data-purchase="${purchase.id}"]`);
    await prow.waitFor();
    await prow.getByRole('button', { name: /Refund/ }).click();
    const dlg = page.locator('#refund-dialog');
    await dlg.waitFor();
    assert.match(await page.locator('#refund-purchase').textContent(), new RegExp(`#${purchase.id}`));
    assert.equal(await page.locator('#refund-amount').inputValue(), (item.price / 100).toFixed(2));
    await page.locator('#refund-reason').fill('browser test: customer complaint');
    await shot(page, '21-console-refund-confirm');
    assert.equal((await user(sub.token, 'GET', `/v1/purchases/${purchase.id}`)).refunded, 0, 'nothing before the confirmation');
    await page.locator('#refund-ok').dblclick();
    await dlg.waitFor({ state: 'hidden' });
    await page.locator(`#purchases tr[data-purchase="${purchase.id}"][data-refunded="${item.price}"]`).waitFor();
    await shot(page, '22-console-subscriber');

    const mine = await user(sub.token, 'GET', `/v1/purchases/${purchase.id}`);
    assert.equal(mine.refunded, item.price);
    const me = await user(sub.token, 'GET', '/v1/me');
    assert.equal(me.balance, 5000, 'refunded once, in full');
    const listed = (await admin('GET', `/v1/admin/subscribers/${sub.msisdn}/purchases`)).items;
    assert.equal(listed.find(p => p.id === purchase.id).refunded, item.price);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});
