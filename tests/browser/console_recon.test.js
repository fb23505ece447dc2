// The console's reconciliation view: a run made by vasctl from a carrier file is listed with its
// class counts, and opens into the per-class counts and amounts.
import { test, before, after } from 'node:test';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert, launch, shot, admin, ENV } from './lib.js';
import { openConsole } from './console_lib.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

function yesterday() { // the carrier's business day (UTC+8) before today: ended, so reconcilable
  return new Date(Date.now() + 8 * 3600e3 - 86400e3).toISOString().slice(0, 10);
}

// Catches: runs not listed, classes shown under the wrong name or with the wrong count, a run
// that does not open.
test('a reconciliation run is listed with its class counts and opens into its classes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vas-recon-'));
  const file = path.join(dir, 'billed.csv');
  const day = yesterday();
  fs.writeFileSync(file, 'cdr_id,msisdn,amount,currency,billed_at\n'
    + 'ffffffffffffffffffffffffffffffff,8613900000000,123,CNY,2026-01-01T00:00:00Z\n'
    + 'not,a,valid\n');
  const [bin, ...args] = ENV.VASCTL.split(' ');
  try {
    execFileSync(bin, [...args, 'reconcile', '--carrier-file', file, '--date', day, '--report', path.join(dir, 'report.csv')],
      { cwd: dir, stdio: 'pipe' });
  } catch (e) {
    assert.equal(e.status, 1, `vasctl reconcile: ${e.stderr}`); // 1 = discrepancies found
  }
  const run = (await admin('GET', '/v1/admin/reconciliations?limit=1')).items[0];
  assert.equal(run.day, day);
  assert.equal(run.classes.billed_unknown.count, 1);
  assert.equal(run.classes.malformed.count, 1);

  const { ctx, page, errors } = await openConsole(browser);
  try {
    await page.getByRole('link', { name: /Reconciliation/ }).click();
    const row = page.locator(`#recon-runs tr[data-run="${run.id}"]`);
    await row.waitFor();
    const text = await row.textContent();
    assert.match(text, /billed_unknown: 1/);
    assert.match(text, /malformed: 1/);
    assert.match(text, new RegExp(day));
    await row.getByRole('button').click();
    for (const [name, v] of Object.entries(run.classes)) {
      const cell = page.locator(`#recon-classes tr[data-class="${name}"]`);
      assert.equal(await cell.getAttribute('data-count'), String(v.count), name);
    }
    assert.match(await page.locator('#recon-classes tr[data-class="billed_unknown"]').textContent(), /¥1\.23/);
    await shot(page, '23-console-reconciliation');
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
