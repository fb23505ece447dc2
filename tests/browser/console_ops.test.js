// The console's operations view: the relay backlog and the webhook dead letters, as
// GET /v1/admin/notifications/status reports them.
import { test, before, after } from 'node:test';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert, launch, shot, admin, user, newSubscriber, ENV, BASE } from './lib.js';
import { openConsole } from './console_lib.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

function vasctl(...args) {
  const [bin, ...pre] = ENV.VASCTL.split(' ');
  return execFileSync(bin, [...pre, ...args], { stdio: 'pipe', cwd: os.tmpdir() }).toString();
}

// A provider whose webhook URL is a loopback address (and who has no signing secret): the relay
// refuses its events at once, so each purchase of its item makes a dead letter.
async function unsignedProviderItem() {
  const tag = crypto.randomBytes(4).toString('hex');
  const rel = `t-${tag}/T${tag.toUpperCase()}.mid`;
  const data = Buffer.concat([Buffer.from('MThd'), crypto.randomBytes(120)]);
  fs.mkdirSync(path.join(ENV.VAS_CONTENT_DIR, `t-${tag}`), { recursive: true });
  fs.writeFileSync(path.join(ENV.VAS_CONTENT_DIR, rel), data);
  const feed = {
    feed_version: 1,
    provider: { code: `p-${tag}`, name: `Provider ${tag}`, revenue_share_bp: 7000, webhook_url: 'http://127.0.0.1:9/hook' },
    categories: [{ slug: `t-${tag}`, name: '测试 Test', kind: 'ringtone' }],
    items: [{
      sku: `T${tag.toUpperCase()}-001`, kind: 'ringtone', title: `Dead letter ${tag}`, artist: 'Tester',
      category: `t-${tag}`, price: 100, currency: 'CNY',
      assets: [{ format: 'midi', path: rel, bytes: data.length, sha256: crypto.createHash('sha256').update(data).digest('hex') }],
    }],
  };
  const file = path.join(os.tmpdir(), `feed-${tag}.json`);
  fs.writeFileSync(file, JSON.stringify(feed));
  try { vasctl('catalog', 'import', file); } finally { fs.rmSync(file, { force: true }); }
  const page = await (await fetch(`${BASE}/v1/catalog/items?category=t-${tag}`)).json();
  return page.items[0];
}

// Catches: an operations view that hides dead letters or shows another number than the gateway.
test('the console shows the relay backlog and the webhook dead letters', async () => {
  const item = await unsignedProviderItem();
  const sub = await newSubscriber(1000);
  const p = await user(sub.token, 'POST', '/v1/purchases', { body: { item_id: item.id, expected_price: item.price }, idem: `ops-${sub.im}` });
  // the relay refuses the provider's event and dead-letters it
  let status;
  for (let i = 0; i < 60; i++) {
    status = await admin('GET', '/v1/admin/notifications/status?limit=50');
    if (status.webhooks.dead_letters.items.some(d => d.type === 'purchase.completed' && d.provider_id === item.provider.id)) break;
    await new Promise(r => setTimeout(r, 500));
  }
  const dead = status.webhooks.dead_letters.items.find(d => d.provider_id === item.provider.id);
  assert.ok(dead, `no dead letter for purchase ${p.id}`);

  const { ctx, page, errors } = await openConsole(browser);
  try {
    await page.getByRole('link', { name: /Operations/ }).click();
    await page.locator('#dead-letters').waitFor();
    const after = await admin('GET', '/v1/admin/notifications/status?limit=50');
    assert.equal(await page.locator('#dead-letters-total b').textContent(), String(after.webhooks.dead_letters.total));
    assert.match(await page.locator('#relay-backlog b').textContent(), /^\d+$/);
    const row = page.locator(`#dead-letters tr[data-event="${dead.event_id}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), /refused/);
    await shot(page, '24-console-operations');
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});
