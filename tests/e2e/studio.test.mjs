// The admin studio (/_/) in Chromium (Debian's, driven by playwright-core) against a real `ssot serve` of the blog
// example on a temporary SQLite file: a wrong key is refused; with the admin key the models are listed, rows are
// shown, filtered and edited (the change is in the database); the change log shows writes of anyone as they
// happen; the access table shows the rules; the clients tab shows a socket's subscription; and a row's text that
// looks like HTML stays text. A user signs in with their password: refused until the schema's studio rule
// (`@@auth(studio: "isAdmin")`) admits them, then they browse rows under their own rules. SSOT_BIN is the `ssot` to run (default ../../target/debug/ssot); CHROMIUM the browser
// (default /usr/bin/chromium; without one the test says SKIPPED). Screenshots go to $E2E_SCREENSHOTS (default a
// temporary directory).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SSOT = process.env.SSOT_BIN ?? path.join(ROOT, 'target/debug/ssot');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ADMIN_KEY = 'studio-e2e-admin-key-0123456789';
const WAIT = { timeout: 10_000 };

const skip = !existsSync(CHROMIUM) && `SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`;
if (skip) console.log(skip);

const s = {};

/** Starts `ssot serve` and resolves with its base URL once it says it listens. */
function serve(database) {
  const child = spawn(SSOT, ['serve', path.join(ROOT, 'examples/blog/schema.prisma'), '--database', `sqlite:${database}`, '--listen', '127.0.0.1:0'], {
    env: { ...process.env, SSOT_ADMIN_KEY: ADMIN_KEY, NO_COLOR: '1', SSOT_LOG: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let said = '';
    child.on('exit', (code) => reject(new Error(`ssot serve exited (${code}):\n${said}`)));
    child.stderr.on('data', (chunk) => {
      said += chunk;
      const match = said.match(/listening on (http:\/\/\S+)/);
      if (match) resolve({ child, url: match[1] });
    });
  });
}

async function api(method, route, body, token = ADMIN_KEY) {
  const response = await fetch(`${s.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const answer = await response.json();
  assert.ok(response.ok, `${method} ${route}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

before(async () => {
  if (skip) return;
  const { chromium } = await import('playwright-core');
  s.dir = mkdtempSync(path.join(tmpdir(), 'ssot-studio-e2e-'));
  s.shots = process.env.E2E_SCREENSHOTS ? path.resolve(process.env.E2E_SCREENSHOTS) : s.dir;
  mkdirSync(s.shots, { recursive: true });
  const server = await serve(path.join(s.dir, 'blog.db'));
  s.server = server.child;
  s.url = server.url;
  const signup = await fetch(`${s.url}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'ann@example.com', password: 'correct horse battery', name: 'Ann' }),
  });
  s.ann = await signup.json();
  s.annId = s.ann.user.id;
  await api('POST', '/api/posts', { title: 'Hello studio', content: 'first', published: true, authorId: s.annId });
  await api('POST', '/api/posts', { title: '<img src=x onerror="window.__pwned=1">', content: 'draft', authorId: s.annId });
  s.browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'] });
  s.page = await (await s.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  s.errors = [];
  s.page.on('pageerror', (error) => s.errors.push(String(error)));
});

after(async () => {
  await s.browser?.close();
  s.server?.kill('SIGTERM');
  if (s.dir && !process.env.E2E_KEEP) rmSync(s.dir, { recursive: true, force: true });
});

test('the studio: sign in, browse, filter and edit rows, the live change log, access, clients', { skip }, async () => {
  const page = s.page;
  await page.goto(`${s.url}/_/`);
  await page.fill('#key', 'not the key');
  await page.click('#signin-form button');
  await page.waitForFunction(() => document.getElementById('signin-error').textContent.length > 0, null, WAIT);
  assert.match(await page.textContent('#signin-error'), /not the admin key/);

  await page.fill('#key', ADMIN_KEY);
  await page.click('#signin-form button');
  await page.waitForSelector('#models button[data-model="Post"]', WAIT);
  const models = await page.$$eval('#models button', (buttons) => buttons.map((b) => b.textContent));
  assert.deepEqual(models.sort(), ['Comment', 'Post', 'Tag', 'User']);

  await page.click('#models button[data-model="Post"]');
  await page.waitForFunction(() => document.querySelectorAll('#rows tbody tr').length === 2, null, WAIT);
  const headers = await page.$$eval('#rows th', (ths) => ths.map((th) => th.textContent));
  assert.ok(headers.includes('title') && headers.includes('published'), headers.join());
  // A title that looks like markup is shown as text and runs nothing.
  const cells = await page.$$eval('#rows td', (tds) => tds.map((td) => td.textContent));
  assert.ok(cells.includes('<img src=x onerror="window.__pwned=1">'), cells.join(' | '));
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.$$eval('#rows img', (imgs) => imgs.length), 0);

  await page.fill('#where', '{"published": true}');
  await page.click('#filter button');
  await page.waitForFunction(() => document.querySelectorAll('#rows tbody tr').length === 1, null, WAIT);
  assert.match(await page.textContent('#page'), /1–1 of 1/);
  await page.click('#rows tbody tr');
  await page.waitForSelector('#editor:not([hidden])', WAIT);
  assert.equal(await page.getAttribute('#editor-fields [name="id"]', 'readonly'), '');
  await page.fill('#editor-fields [name="title"]', 'Hello, edited in the studio');
  await page.click('#editor button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('editor-status').textContent === 'Saved.', null, WAIT);
  const stored = await api('POST', '/api/posts/query', { where: { published: true } });
  assert.deepEqual(stored.data.map((p) => p.title), ['Hello, edited in the studio']);
  await page.screenshot({ path: path.join(s.shots, 'studio-data.png') });

  // The change log: the edit is there; a write made elsewhere appears within a moment.
  await page.click('#tabs button[data-tab="changes"]');
  await page.waitForFunction(() => [...document.querySelectorAll('#changes tr')].some((tr) => tr.textContent.includes('edited in the studio')), null, WAIT);
  await api('POST', '/api/tags', { name: 'written-elsewhere' });
  await page.waitForFunction(() => [...document.querySelectorAll('#changes tr')].some((tr) => tr.textContent.includes('written-elsewhere')), null, WAIT);
  const log = await page.textContent('#changes');
  assert.ok(!log.includes('$argon2'), 'no password hash in the change log');
  assert.ok(!(await page.isVisible('#tab-data')) && !(await page.isVisible('#editor')), 'one tab at a time');
  const newest = await page.$eval('#changes tr', (tr) => tr.textContent);
  assert.match(newest, /Tag.*create.*written-elsewhere/, 'newest first');
  await page.screenshot({ path: path.join(s.shots, 'studio-changes.png') });

  await page.click('#tabs button[data-tab="access"]');
  await page.waitForSelector('#access .card[data-model="Post"]', WAIT);
  const postAccess = await page.textContent('#access .card[data-model="Post"]');
  assert.match(postAccess, /read\s*published \|\| isOwner/);
  assert.match(await page.textContent('#access .card[data-model="User"]'), /email/, 'field rules are listed');

  // A socket subscribed from another page shows in the clients tab.
  const other = await s.page.context().newPage();
  await other.goto(`${s.url}/_/`);
  await other.evaluate(({ url, token }) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/api/ws?token=${token}`, 'ssot.v1');
    window.__ws = ws;
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === 'ready') ws.send(JSON.stringify({ type: 'subscribe', id: 'watch', channel: 'Post:list', args: { where: { published: true } } }));
      if (message.type === 'subscribed') resolve();
      if (message.type === 'error') reject(new Error(event.data));
    };
  }), { url: s.url, token: s.ann.accessToken });
  await page.click('#tabs button[data-tab="clients"]');
  await page.waitForFunction(() => document.getElementById('clients').textContent.includes('watch'), null, WAIT);
  const clients = await page.textContent('#clients');
  assert.match(clients, /watch.*Post.*list/);
  assert.ok(clients.includes(s.annId), 'whose rules the subscription runs under');
  assert.ok(!clients.includes(s.ann.accessToken), 'never a token');
  await page.screenshot({ path: path.join(s.shots, 'studio-clients.png') });

  await page.click('#tabs button[data-tab="services"]');
  await page.waitForFunction(() => document.getElementById('services').textContent.length > 0, null, WAIT);
  assert.deepEqual(s.errors, [], 'no script errors on the page');
});

test('a user the studio rule admits signs in and sees rows as their rules let them', { skip }, async () => {
  const signup = await fetch(`${s.url}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'bob@example.com', password: 'battery staple horse', name: 'Bob' }),
  });
  const bob = await signup.json();
  await api('POST', '/api/posts', { title: "Bob's draft", content: 'unpublished', authorId: bob.user.id }, bob.accessToken);
  const page = await (await s.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.on('pageerror', (error) => s.errors.push(String(error)));
  await page.goto(`${s.url}/_/`);
  await page.waitForSelector('#login-form:not([hidden])', WAIT);
  assert.equal(await page.textContent('#identity-label'), 'email');

  // Not an admin: the rule does not admit them.
  await page.fill('#identity', 'ann@example.com');
  await page.fill('#password', 'correct horse battery');
  await page.click('#login-form button');
  await page.waitForFunction(() => document.getElementById('signin-error').textContent.length > 0, null, WAIT);
  assert.match(await page.textContent('#signin-error'), /not open to this user/);
  await page.fill('#password', 'wrong password');
  await page.click('#login-form button');
  await page.waitForFunction(() => /Wrong/.test(document.getElementById('signin-error').textContent), null, WAIT);

  // Made an admin by the key: the same sign-in opens the studio.
  await api('PATCH', `/api/users/${s.annId}`, { role: 'admin' });
  await page.fill('#password', 'correct horse battery');
  await page.click('#login-form button');
  await page.waitForSelector('#models button[data-model="Post"]', WAIT);
  assert.equal(await page.textContent('#whoami'), `user ${s.annId}`);
  assert.ok(!(await page.isVisible('#tabs [data-tab="clients"]')), 'the clients are the admin key\'s alone');
  await page.click('#models button[data-model="Post"]');
  await page.waitForFunction(() => [...document.querySelectorAll('#rows td')].some((td) => td.textContent === 'Hello, edited in the studio'), null, WAIT);
  const titles = await page.$$eval('#rows td', (tds) => tds.map((td) => td.textContent));
  assert.ok(titles.includes('Hello, edited in the studio'), titles.join(' | '));
  assert.ok(!titles.includes("Bob's draft"), "another user's draft stays hidden: rows are read under Ann's rules");
  await page.click('#tabs button[data-tab="changes"]');
  await page.waitForFunction(() => document.querySelectorAll('#changes tr').length > 0, null, WAIT);
  assert.ok(await page.isVisible('#tab-changes') && !(await page.isVisible('#tab-data')), 'one tab at a time');
  const log = await page.textContent('#changes');
  assert.ok(log.includes('Hello, edited in the studio') && !log.includes("Bob's draft"), `the change log under Ann's rules: ${log}`);
  await page.screenshot({ path: path.join(s.shots, 'studio-user.png') });

  // Signing out ends the session: its refresh token no longer works.
  const stored = await page.evaluate(() => JSON.parse(sessionStorage.getItem('ssot.session')));
  await page.click('#signout');
  await page.waitForSelector('#signin:not([hidden])', WAIT);
  const refreshed = await fetch(`${s.url}/api/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: stored.refreshToken }) });
  assert.equal(refreshed.status, 401);
  assert.deepEqual(s.errors, [], 'no script errors on the page');
});
