// Helpers of the console tests.
import { watchErrors, user, BASE, ADMIN_KEY } from './lib.js';

// The console at /console/, signed in with the stack's admin key typed into the page.
export async function openConsole(browser, viewport = { width: 1200, height: 900 }) {
  const ctx = await browser.newContext({ viewport, locale: 'en-GB', acceptDownloads: true });
  ctx.setDefaultTimeout(30000); // generous: make test shares 2 cores with everything else
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  await page.goto(`${BASE}/console/`);
  await page.getByLabel(/Admin API key/).fill(ADMIN_KEY);
  await page.getByRole('button', { name: /Open the console/ }).click();
  await page.locator('#view .view-title').waitFor();
  return { ctx, page, errors };
}

export async function buy(sub, item) {
  return user(sub.token, 'POST', '/v1/purchases', {
    body: { item_id: item.id, expected_price: item.price }, idem: `br-${sub.im}-${item.id}`,
  });
}
