// The finance/operator console in Debian's chromium: the admin key typed into the page, today's
// revenue against the CDR export.
import { test, before, after } from 'node:test';
import { assert, launch, shot, newSubscriber, admin, demoRingtone, ADMIN_KEY, ARTIFACTS } from './lib.js';
import { openConsole, buy } from './console_lib.js';
import fs from 'node:fs';
import path from 'node:path';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// Sum of the signed amount column of a CDR export.
function csvTotal(csv) {
  const lines = csv.trim().split('\n');
  const head = lines[0].split(',');
  const col = head.indexOf('amount');
  assert.ok(col >= 0, 'CDR export has an amount column');
  let total = 0;
  for (const line of lines.slice(1)) {
    // quoted fields never contain commas in these columns before `amount`… but be safe:
    const cells = line.match(/("([^"]|"")*"|[^,]*)(,|$)/g).map(c => c.replace(/,$/, ''));
    total += Number(cells[col].replace(/^"|"$/g, ''));
  }
  return total;
}

// Catches: a revenue view that disagrees with the CDR export (wrong day, sign of refunds,
// stale summary), a chart or table that does not render, a key that leaks into storage.
test("the console shows today's revenue matching the CDR export's total", async () => {
  const sub = await newSubscriber(5000);
  await buy(sub, await demoRingtone('茉莉'));
  const { ctx, page, errors } = await openConsole(browser);
  try {
    const row = page.locator('#revenue-table tr.today');
    await row.waitFor();
    const day = await row.getAttribute('data-day');
    const net = Number(await row.getAttribute('data-net'));
    assert.ok(net > 0, 'today has revenue');
    const shown = await row.locator('td.net').textContent();
    assert.equal(shown, `¥${(net / 100).toFixed(2)}`);
    assert.equal(await page.locator('svg.chart').count(), 2);
    await shot(page, '20-console-revenue');

    // the export of that day, through the API and through the page's download button
    const csv = await admin('GET', `/v1/admin/cdrs?from=${day}&to=${day}`);
    assert.equal(csvTotal(csv), net, `CDR export total for ${day}`);
    const cdrRow = page.locator(`#cdr-days tr[data-day="${day}"]`);
    assert.equal(Number(await cdrRow.getAttribute('data-total')), net);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      cdrRow.getByRole('button').click(),
    ]);
    const file = fs.readFileSync(await download.path(), 'utf8');
    assert.equal(csvTotal(file), net);
    fs.copyFileSync(await download.path(), path.join(ARTIFACTS, `cdrs-${day}.csv`));

    // the key lives in memory only
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie + location.href);
    assert.ok(!stored.includes(ADMIN_KEY.slice(-16)), 'the admin key is not stored anywhere');
    await page.reload();
    await page.getByLabel(/Admin API key/).waitFor();
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});
