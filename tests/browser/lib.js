// Shared by the browser tests: the stack's environment, Debian's chromium through playwright-core,
// IM tokens, fresh subscribers and API checks done outside the browser (the page is never trusted
// to report its own effects: balances and purchases are read back through the API).
import { chromium } from 'playwright-core';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';

function stackEnv() {
  const env = { ...process.env };
  if (!env.VAS_BASE_URL) {
    // Run by hand: read the test stack's env file (scripts/test.sh exports it).
    const file = path.resolve(import.meta.dirname, '../../run/test/stack.env');
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
      if (m && !env[m[1]]) env[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
}

export const ENV = stackEnv();
export const BASE = ENV.VAS_BASE_URL;
export const ADMIN_KEY = ENV.VAS_ADMIN_KEY;
export const ARTIFACTS = ENV.VAS_BROWSER_ARTIFACTS
  || path.resolve(import.meta.dirname, '../../run/test-results/browser');
fs.mkdirSync(ARTIFACTS, { recursive: true });

export const PHONE = { width: 390, height: 844 };

// Debian's chromium, headless. playwright-core's launch() gives the browser a new, empty
// --user-data-dir of its own each time; the other flags keep chromium off the (closed) network.
export async function launch() {
  return chromium.launch({
    executablePath: ENV.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required'],
  });
}

export async function phoneContext(browser, opts = {}) {
  const ctx = await browser.newContext({
    viewport: PHONE, deviceScaleFactor: 1, isMobile: true, hasTouch: true,
    locale: opts.locale || 'zh-CN', acceptDownloads: true,
  });
  ctx.setDefaultTimeout(30000); // generous: make test shares 2 cores with everything else
  return ctx;
}

// Every page error fails the test that owns the page.
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', e => errors.push(String(e)));
  return errors;
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// An HS256 IM session token, as the IM login server makes them (the key is the secret file's bytes).
export function mintToken(sub, ttl = 3600) {
  const key = fs.readFileSync(ENV.VAS_TOKEN_SECRET_FILE);
  const b64 = o => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, iat: now, exp: now + ttl })}`;
  return `${head}.${crypto.createHmac('sha256', key).update(head).digest('base64url')}`;
}

export async function http(method, url, { token, body, idem, raw } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (idem) headers['Idempotency-Key'] = idem;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(BASE + url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (raw) return res;
  const text = await res.text();
  let data = text;
  try { data = JSON.parse(text); } catch { /* CSV or empty */ }
  if (!res.ok) throw new Error(`${method} ${url} → ${res.status} ${text}`);
  return data;
}

export const admin = (method, url, opts = {}) => http(method, url, { ...opts, token: ADMIN_KEY });
export const user = (token, method, url, opts = {}) => http(method, url, { ...opts, token });

// A fresh IM user bound to a new prepaid phone account with `balance` fen.
export async function newSubscriber(balance, prefix = 'br') {
  const tag = crypto.randomBytes(4).toString('hex');
  const im = `${prefix}-${tag}`;
  const msisdn = '86139' + String(crypto.randomInt(10 ** 7, 10 ** 8));
  await admin('POST', '/v1/admin/subscribers', { body: { im_user_id: im, msisdn, plan: 'prepaid' } });
  if (balance > 0) {
    await admin('POST', `/v1/admin/subscribers/${msisdn}/topups`,
      { body: { amount: balance, reference: `br-${tag}` }, idem: `br-topup-${tag}` });
  }
  return { im, msisdn, token: mintToken(im) };
}

export async function me(sub) {
  return user(sub.token, 'GET', '/v1/me');
}

export async function purchases(sub) {
  return (await user(sub.token, 'GET', '/v1/purchases?limit=100')).items;
}

// A demo ringtone with a preview and a MIDI asset (scripts/demo_load.sh loads them).
export async function demoRingtone(q = '茉莉') {
  const page = await http('GET', `/v1/catalog/items?kind=ringtone&q=${encodeURIComponent(q)}&limit=5`);
  const item = page.items.find(i => i.preview_url && i.formats.some(f => f.format === 'midi'));
  assert.ok(item, `no demo ringtone matching ${q}: is the demo catalog loaded?`);
  return item;
}

// A demo game found by its title (the catalog may hold thousands of test items besides).
export async function demoGame(q, pred = () => true) {
  const page = await http('GET', `/v1/catalog/items?kind=game&q=${encodeURIComponent(q)}&limit=10`);
  const game = page.items.find(pred);
  assert.ok(game, `no demo game matching ${q}: is the demo catalog loaded?`);
  return game;
}

export async function openStore(ctx, sub, hash = '/') {
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  await page.goto(`${BASE}/#token=${sub ? sub.token : ''}${hash === '/' ? '' : '&' + hash}`);
  await page.locator('main .view-title').first().waitFor();
  return { page, errors };
}

export { assert };
