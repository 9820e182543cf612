// End-to-end: the chat in Chromium (Debian's, driven by playwright-core) against real servers started here:
// `ssot serve` on the chat's schema with a temporary SQLite file, the app server (production build, server
// rendering) and the webhook receiver. Three people in three browser contexts: Ann creates a private room and
// invites Bob and Cy; messages are delivered live (the delay from the click on Send in one page to the message
// in the other is measured), presence and typing come and go, the first page is rendered on the server as the
// signed-in user and stays live after hydration, the ssot server restarts mid-conversation (same port, same
// file) and both pages resume with nothing lost or duplicated, a removed member stops receiving at once and
// reads nothing by any route, a send refused by the server (after removal) is rolled back with an error, search
// marks its matches, public rooms are listed and joined live, and every message reaches the webhook receiver signed.
//
// Runs in `npm test` (after `npm run build`). CHROMIUM overrides the browser's path (default /usr/bin/chromium);
// without one the test says SKIPPED. Screenshots go to screenshots/ (the README shows them), or $CHAT_SCREENSHOTS.
// CHAT_E2E_DEBUG=1 prints every socket frame and leaves a screenshot of each page in the temporary directory.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startAppServer } from '../server.mjs';
import { startReceiver } from '../webhook-receiver.mjs';
import { CHAT_DIR, freePort, startSsot } from '../scripts/ssot.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = process.env.CHAT_SCREENSHOTS ? path.resolve(process.env.CHAT_SCREENSHOTS) : path.join(CHAT_DIR, 'screenshots');
const ADMIN_KEY = 'chat-e2e-admin-key-0123456789';
const SECRET = `whsec_${Buffer.from('chat-e2e-webhook-secret-01234567').toString('base64')}`;
const MESSAGES = Number(process.env.CHAT_E2E_MESSAGES ?? 20);
const WAIT = { timeout: 10_000 };

const skip = !existsSync(CHROMIUM) && `SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`;
if (skip) console.log(skip);

/** Everything the steps share: servers, the browser, the three people's pages. */
const s = {};
const log = [];

before(async () => {
  if (skip) return;
  s.step = 'setup';
  const { chromium } = await import('playwright-core');
  s.dir = mkdtempSync(path.join(tmpdir(), 'ssot-chat-e2e-'));
  s.database = path.join(s.dir, 'chat.db');
  s.receiver = await startReceiver({ port: 0, secret: SECRET, log: (line) => log.push(line) });
  s.apiPort = await freePort();
  s.app = await startAppServer({ prod: true, port: 0, apiUrl: `http://127.0.0.1:${s.apiPort}`, log: (line) => log.push(line) });
  s.startApi = () =>
    startSsot({
      database: s.database,
      port: s.apiPort,
      corsOrigin: s.app.url,
      adminKey: ADMIN_KEY,
      env: { CHAT_WEBHOOK_URL: `${s.receiver.url}/chat`, CHAT_WEBHOOK_SECRET: SECRET },
      onLine: (line) => log.push(`ssot: ${line}`),
    });
  s.api = await s.startApi();
  s.browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  if (skip) return;
  if (process.env.CHAT_E2E_DEBUG) {
    for (const p of [s.ann, s.bob, s.cy].filter(Boolean)) {
      await p.page.screenshot({ path: path.join(tmpdir(), `chat-e2e-${p.name}.png`) }).catch(() => {});
      console.log(`${p.name} at ${p.page.url()}: errors ${JSON.stringify(p.errors)}`);
    }
  }
  await s.browser?.close();
  await s.app?.close();
  await s.api?.stop();
  await s.receiver?.close();
  if (process.exitCode && log.length) console.log(`--- server logs ---\n${log.slice(-80).join('\n')}`);
  rmSync(s.dir, { recursive: true, force: true });
});

/** A new browser context and page; console errors and page errors are collected (the test fails on them). */
async function person(name, email, { holdable = false } = {}) {
  const context = await s.browser.newContext({ viewport: { width: 1100, height: 760 } });
  const p = { name, email, password: 'correct horse battery', context, errors: [], hold: false, held: [], release: () => {} };
  if (holdable) {
    // The page's sockets to ssot pass through here: with `p.hold`, what the server sends waits until `release()`.
    await context.routeWebSocket(/\/api\/ws/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => server.send(m));
      server.onMessage((m) => (p.hold ? p.held.push(() => ws.send(m)) : ws.send(m)));
    });
    p.release = () => {
      p.hold = false;
      for (const deliver of p.held.splice(0)) deliver();
    };
  }
  const page = await context.newPage();
  p.page = page;
  if (process.env.CHAT_E2E_DEBUG) {
    page.on('websocket', (ws) => {
      ws.on('framereceived', (f) => p.trace && console.log(`${name} <- ${String(f.payload).slice(0, 300)}`));
      ws.on('framesent', (f) => p.trace && console.log(`${name} -> ${String(f.payload).slice(0, 300)}`));
    });
  }
  const errors = p.errors;
  page.on('pageerror', (error) => errors.push(`${name}: ${error.message}`));
  page.on('console', (message) => {
    // Not the app's: the browser's notes on connections refused while the server restarts, and Playwright's own
    // WebSocket routing (a script without a URL) writing to a socket the restart closed.
    const plumbing = /Failed to load resource|net::ERR|WebSocket connection/.test(message.text()) || (holdable && message.location().url === '' && /WebSocket is already in CLOSING or CLOSED/.test(message.text()));
    if (message.type() === 'error' && !plumbing) errors.push(`${name}: ${message.text()}${process.env.CHAT_E2E_DEBUG ? ` at ${JSON.stringify(message.location())} during ${s.step}` : ''}`);
  });
  return p;
}

async function signUp(p) {
  await p.page.goto(s.app.url);
  await p.page.getByLabel('Name').fill(p.name);
  await p.page.getByLabel('E-mail').fill(p.email);
  await p.page.getByLabel('Password').fill(p.password);
  await p.page.getByRole('button', { name: 'Sign up' }).click();
  await p.page.getByRole('heading', { name: 'Your rooms' }).waitFor(WAIT);
  p.token = () => p.page.evaluate(() => JSON.parse(localStorage.getItem('ssot-chat-session')).accessToken);
  p.id = await p.page.evaluate(() => JSON.parse(localStorage.getItem('ssot-chat-session')).user.id);
}

const messages = (p) => p.page.locator('[data-testid=message] .body');
const shot = (p, name) => p.page.screenshot({ path: path.join(SHOTS, `${name}.png`) });

async function send(p, text) {
  await p.page.getByTestId('composer').fill(text);
  await p.page.getByTestId('send').click();
}

/** The REST API as someone (their token) or as the admin. */
async function rest(method, route, token, body) {
  const res = await fetch(`${s.api.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const roomMessages = async (roomId) =>
  (await rest('GET', `/api/messages?where=${encodeURIComponent(JSON.stringify({ roomId }))}&orderBy=${encodeURIComponent('{"id":"asc"}')}&take=1000`, ADMIN_KEY)).body.data;

/** What a page shows: its messages' ids, in order (duplicates would show twice). */
const shownIds = (p) => p.page.$$eval('[data-testid=message]', (items) => items.map((li) => Number(li.dataset.id)));

const percentile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

test('sign up, create a private room, invite: the invitee sees it live', { skip }, async () => {
  s.step = 'sign up, create a private room, invite: the invitee sees it live';
  s.ann = await person('Ann', `ann-${Date.now()}@example.com`);
  s.bob = await person('Bob', `bob-${Date.now()}@example.com`);
  s.cy = await person('Cy', `cy-${Date.now()}@example.com`, { holdable: true });
  await s.ann.page.goto(s.app.url);
  await shot(s.ann, '1-sign-up');
  for (const p of [s.ann, s.bob, s.cy]) await signUp(p);

  const { page } = s.ann;
  await page.getByPlaceholder('Room name').fill('Launch plans');
  await page.getByLabel('Private').check();
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByTestId('room-title').filter({ hasText: 'Launch plans' }).waitFor(WAIT);
  s.roomId = Number(new URL(page.url()).pathname.split('/').pop());
  assert.ok(s.roomId > 0);

  // Bob and Cy do not see the private room before they are invited.
  assert.equal(await s.bob.page.getByText('Launch plans').count(), 0);
  for (const p of [s.bob, s.cy]) {
    await page.getByLabel('E-mail to invite').fill(p.email);
    await page.getByRole('button', { name: 'Add' }).click();
    await page.locator(`[data-testid=member][data-user="${p.email}"]`).waitFor(WAIT);
  }
  // Their room lists show it live (no reload), and they open it.
  for (const p of [s.bob, s.cy]) {
    await p.page.getByRole('link', { name: /Launch plans/ }).click(WAIT);
    await p.page.getByTestId('room-title').waitFor(WAIT);
  }
});

test('presence and typing appear and disappear', { skip }, async () => {
  s.step = 'presence and typing appear and disappear';
  const online = (p, who) => p.page.locator(`[data-testid=member][data-user="${who.email}"] [data-testid=online]`);
  // Everyone is in the room: each sees the others online.
  await online(s.ann, s.bob).waitFor(WAIT);
  await online(s.bob, s.ann).waitFor(WAIT);
  await online(s.ann, s.cy).waitFor(WAIT);

  await s.bob.page.getByTestId('composer').fill('I am typ');
  await s.ann.page.getByTestId('typing').filter({ hasText: 'Bob is typing…' }).waitFor(WAIT);
  await s.bob.page.getByTestId('composer').fill('');
  await s.ann.page.getByTestId('typing').filter({ hasNotText: 'typing' }).waitFor(WAIT);

  // Cy leaves the page (to the room list): Ann sees Cy offline; Cy comes back: online again.
  await s.cy.page.getByRole('link', { name: 'ssot chat' }).click();
  await s.ann.page.locator(`[data-testid=member][data-user="${s.cy.email}"] [data-testid=offline]`).waitFor(WAIT);
  await s.cy.page.getByRole('link', { name: /Launch plans/ }).click();
  await online(s.ann, s.cy).waitFor(WAIT);
});

test(`messages are delivered live; the delay from Send in one page to the message in the other (${MESSAGES} messages)`, { skip }, async () => {
  s.step = `messages are delivered live; the delay from Send in one page to the message in the other (${MESSAGES} messages)`;
  // In Bob's page, the moment each message appears; in Ann's, the moment Send is clicked (before React sees it).
  await s.bob.page.evaluate(() => {
    window.__seen = {};
    new MutationObserver(() => {
      for (const el of document.querySelectorAll('[data-testid=message] .body')) window.__seen[el.textContent] ??= Date.now();
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  await s.ann.page.evaluate(() => {
    window.__sent = {};
    document.addEventListener(
      'click',
      (event) => {
        if (event.target.closest('[data-testid=send]')) window.__sent[document.querySelector('[data-testid=composer]').value] = Date.now();
      },
      true,
    );
  });
  const delays = [];
  for (let i = 1; i <= MESSAGES; i++) {
    const text = `hello #${i} from Ann`;
    await send(s.ann, text);
    await s.bob.page.waitForFunction((t) => window.__seen[t] !== undefined, text, WAIT);
    const [sent, seen] = [await s.ann.page.evaluate((t) => window.__sent[t], text), await s.bob.page.evaluate((t) => window.__seen[t], text)];
    delays.push(seen - sent);
  }
  // And Bob answers: Ann sees it.
  await send(s.bob, 'hi Ann, Bob here');
  await s.ann.page.getByText('hi Ann, Bob here').waitFor(WAIT);
  s.delivery = { n: delays.length, p50: percentile(delays, 0.5), p90: percentile(delays, 0.9), max: Math.max(...delays), min: Math.min(...delays) };
  console.log(`DELIVERY (click on Send in Ann's page → rendered in Bob's), ${delays.length} messages: p50 ${s.delivery.p50} ms, p90 ${s.delivery.p90} ms, max ${s.delivery.max} ms, min ${s.delivery.min} ms`);
  assert.ok(s.delivery.max < 5_000, `every message within 5 s (max ${s.delivery.max} ms)`);

  // Nothing shows twice, nothing is missing: each page equals the database.
  const ids = (await roomMessages(s.roomId)).map((m) => m.id);
  for (const p of [s.ann, s.bob]) assert.deepEqual(await shownIds(p), ids, `${p.name}'s page shows exactly the room's messages`);
  await shot(s.bob, '4-room-conversation');
  // Search (@@search on the body): Bob looks for "hello 7": one message has both words, marked.
  await s.bob.page.getByLabel('Search messages').fill('hello 7');
  const result = s.bob.page.getByTestId('search-result');
  await result.filter({ hasText: 'hello #7 from Ann' }).waitFor(WAIT);
  assert.equal(await result.count(), 1, 'only the message with both words');
  assert.deepEqual(await result.locator('mark').allTextContents(), ['hello', '7']);
  await shot(s.bob, '7-search');
  await s.bob.page.getByLabel('Search messages').fill('');
  // Bob starts another message: Ann sees who is online and who is typing.
  await s.bob.page.getByTestId('composer').fill('sounds good, and');
  await s.ann.page.getByTestId('typing').filter({ hasText: 'Bob is typing…' }).waitFor(WAIT);
  await shot(s.ann, '3-room-typing-presence');
  await s.bob.page.getByTestId('composer').fill('');
});

test('unread counts on the room list follow live', { skip }, async () => {
  s.step = 'unread counts on the room list follow live';
  await s.cy.page.getByRole('link', { name: 'ssot chat' }).click();
  await s.cy.page.getByRole('heading', { name: 'Your rooms' }).waitFor(WAIT);
  // Cy has read everything (the room page moves the read position to the newest message shown): Ann's next two
  // messages are Cy's unread ones, counted live on the list.
  for (const text of ['one more', 'and another']) await send(s.ann, text);
  await s.cy.page.waitForFunction((id) => document.querySelector(`[data-testid=unread-${id}]`)?.textContent === '2', s.roomId, WAIT);
  await shot(s.cy, '2-room-list-unread');
  // Opening the room reads it: back on the list, no badge.
  await s.cy.page.getByRole('link', { name: /Launch plans/ }).click();
  await s.cy.page.getByText('and another').waitFor(WAIT);
  await s.cy.page.getByRole('link', { name: 'ssot chat' }).click();
  await s.cy.page.getByRole('heading', { name: 'Your rooms' }).waitFor(WAIT);
  await s.cy.page.waitForFunction((id) => !document.querySelector(`[data-testid=unread-${id}]`), s.roomId, WAIT);
  await s.cy.page.getByRole('link', { name: /Launch plans/ }).click();
});

test('the first page is rendered on the server as the signed-in user, hydrates, and stays live', { skip }, async () => {
  s.step = 'the first page is rendered on the server as the signed-in user, hydrates, and stays live';
  // The HTML itself (with Bob's cookie): the messages are in it, rendered as Bob.
  const response = await s.bob.context.request.get(`${s.app.url}/rooms/${s.roomId}`);
  const html = await response.text();
  assert.equal(response.status(), 200);
  assert.match(html, /hi Ann, Bob here/, 'the server rendered the room as Bob');
  assert.match(html, /data-testid="me">Bob</);
  // Without the cookie: nothing of the room.
  const anonymous = await (await fetch(`${s.app.url}/rooms/${s.roomId}`)).text();
  assert.doesNotMatch(anonymous, /hello #1 from Ann/);

  // Reload: the messages are there before any script runs (JavaScript off shows the server's HTML)...
  const noScript = await s.browser.newContext({ javaScriptEnabled: false, storageState: await s.bob.context.storageState() });
  const still = await noScript.newPage();
  await still.goto(`${s.app.url}/rooms/${s.roomId}`);
  assert.ok((await still.locator('[data-testid=message]').count()) > MESSAGES, 'server-rendered messages');
  await noScript.close();
  // ...and with scripts the page hydrates without a mismatch and follows live from there.
  const hydrationErrors = s.bob.errors.length;
  const sent = [];
  const onSocket = (ws) => ws.on('framesent', (frame) => sent.push(String(frame.payload)));
  s.bob.page.on('websocket', onSocket);
  await s.bob.page.reload();
  await s.bob.page.getByText('hi Ann, Bob here').waitFor(WAIT);
  // The hydrated list's subscription resumes from the server-rendered page's seq (docs/sdk.md).
  const state = await s.bob.page.evaluate(() => window.__CHAT__.state.queries.find((q) => q.queryKey[1] === 'Message').state.data);
  await s.bob.page.waitForFunction(() => window.__chat.client.$status === 'open', null, WAIT);
  const subscribe = sent.flatMap((f) => [JSON.parse(f)].flat()).find((m) => m.type === 'subscribe' && m.channel === 'Message:list');
  s.bob.page.off('websocket', onSocket);
  assert.ok(state.seq > 0 && state.data.length > MESSAGES, 'the page came with its rows and their seq');
  assert.equal(subscribe?.since, state.seq, 'the live list resumed from the hydrated seq');
  await send(s.ann, 'after your reload');
  await s.bob.page.getByText('after your reload').waitFor(WAIT);
  assert.deepEqual(s.bob.errors.slice(hydrationErrors), [], 'no hydration mismatch nor error');
  assert.deepEqual(await shownIds(s.bob), (await roomMessages(s.roomId)).map((m) => m.id));
});

test('the ssot server restarts mid-conversation: both pages resume, nothing lost, nothing duplicated', { skip }, async () => {
  s.step = 'the ssot server restarts mid-conversation: both pages resume, nothing lost, nothing duplicated';
  await send(s.ann, 'before the restart');
  await s.bob.page.getByText('before the restart').waitFor(WAIT);
  await s.api.stop();
  await s.ann.page.getByTestId('connection').filter({ hasText: /reconnecting|connecting/ }).waitFor(WAIT);
  // Sent while the server is away: refused at once (no connection), rolled back, said.
  await send(s.ann, 'into the void');
  await s.ann.page.getByTestId('send-error').filter({ hasText: 'into the void' }).waitFor(WAIT);
  assert.equal(await s.ann.page.getByTestId('pending-message').count(), 0, 'the optimistic message was taken back');
  await s.ann.page.getByRole('button', { name: 'dismiss' }).click();

  s.api = await s.startApi();
  for (const p of [s.ann, s.bob]) await p.page.getByTestId('connection').filter({ hasText: 'open' }).waitFor({ timeout: 20_000 });
  await send(s.ann, 'after the restart (Ann)');
  await send(s.bob, 'after the restart (Bob)');
  for (const p of [s.ann, s.bob]) {
    await p.page.getByText('after the restart (Ann)').waitFor(WAIT);
    await p.page.getByText('after the restart (Bob)').waitFor(WAIT);
  }
  const ids = (await roomMessages(s.roomId)).map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const p of [s.ann, s.bob]) assert.deepEqual(await shownIds(p), ids, `${p.name}: exactly the room's messages, in order`);
  assert.equal(await s.ann.page.getByText('into the void').count(), 0);
});

test('a removed member stops receiving at once and can read nothing of the room by any route', { skip }, async () => {
  s.step = 'a removed member stops receiving at once and can read nothing of the room by any route';
  const token = await s.bob.token();
  const some = (await roomMessages(s.roomId))[0];
  assert.equal((await rest('GET', `/api/messages/${some.id}`, token)).status, 200, 'before: Bob reads a message');

  const removedAt = Date.now();
  await s.ann.page.locator(`[data-testid=member][data-user="${s.bob.email}"] [data-testid=remove]`).click();
  await s.bob.page.getByTestId('not-member').waitFor(WAIT);
  const took = Date.now() - removedAt;
  console.log(`REMOVAL: Bob's page showed the removal ${took} ms after Ann's click`);
  assert.equal(await s.bob.page.locator('[data-testid=message]').count(), 0, 'the messages left Bob\'s page');
  await shot(s.bob, '6-removed');

  await send(s.ann, 'secret plans after Bob left');
  await s.ann.page.getByText('secret plans after Bob left').waitFor(WAIT);
  await s.bob.page.waitForTimeout(1000);
  assert.equal(await s.bob.page.getByText('secret plans').count(), 0, 'nothing reaches Bob any more');

  const where = encodeURIComponent(JSON.stringify({ roomId: s.roomId }));
  const list = await rest('GET', `/api/messages?where=${where}`, token);
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.data, [], 'list: none');
  assert.equal(list.body.meta.total, 0);
  assert.equal((await rest('GET', `/api/messages/${some.id}`, token)).status, 404, 'get by id: 404, as for a missing id');
  assert.deepEqual((await rest('GET', `/api/messages/count?where=${where}`, token)).body, { count: 0 }, 'count: 0');
  for (const q of ['secret', 'hello']) {
    const found = await rest('GET', `/api/messages/search?q=${q}`, token);
    assert.deepEqual([found.status, found.body.data, found.body.meta.total], [200, [], 0], `search "${q}": nothing`);
  }
  const all = await rest('GET', '/api/messages?take=1000', token);
  assert.ok(all.body.data.every((m) => m.roomId !== s.roomId), 'no message of the room in an unfiltered list');
  assert.equal((await rest('GET', `/api/rooms/${s.roomId}`, token)).status, 404, 'the private room itself: 404');
  // The same over the socket, from Bob's page and its client: reads, a count, and a live query.
  const overSocket = await s.bob.page.evaluate(
    async ([roomId, id]) => {
      const m = window.__chat.client.message;
      const via = { via: 'ws' };
      const live = m.subscribe({ where: { roomId } });
      const rows = await live.ready.catch((e) => `refused: ${e.code}`);
      live.unsubscribe();
      return {
        list: await m.findMany({ where: { roomId } }, via),
        one: await m.findUnique({ where: { id } }, via),
        count: await m.count({ where: { roomId } }, via),
        live: rows,
      };
    },
    [s.roomId, some.id],
  );
  assert.deepEqual(overSocket, { list: [], one: null, count: 0, live: [] }, 'nothing over the socket either');
  const viaMembers = await rest('GET', `/api/memberships?where=${where}&include=${encodeURIComponent('{"room":{"include":{"messages":true}}}')}`, token);
  assert.deepEqual(viaMembers.body.data, [], 'nor through memberships');
  const viaUser = await rest('GET', `/api/users/${s.ann.id}?include=${encodeURIComponent('{"messages":true}')}`, token);
  assert.ok(viaUser.body.messages.every((m) => m.roomId !== s.roomId), 'nor through the author');
  // Nor write to it: the room is out of Bob's sight, so it answers as for a room that does not exist (409).
  const write = await rest('POST', '/api/messages', token, { body: 'let me back', roomId: s.roomId, authorId: s.bob.id });
  assert.equal(write.status, 409, JSON.stringify(write.body));
});

test('an optimistic send the server refuses (the sender was just removed) is rolled back with an error', { skip }, async () => {
  s.step = 'an optimistic send the server refuses (the sender was just removed) is rolled back with an error';
  // Cy's socket is held back (a slow network towards Cy): Cy's page does not learn of the removal yet.
  const { page } = s.cy;
  await page.getByText('secret plans after Bob left').waitFor(WAIT);
  s.cy.hold = true;
  const cyMembership = (await rest('GET', `/api/memberships?where=${encodeURIComponent(JSON.stringify({ roomId: s.roomId, userId: s.cy.id }))}`, ADMIN_KEY)).body.data[0];
  // Ann removes Cy (through the API), and Cy writes before Cy's page hears of it: the server refuses (403).
  await rest('DELETE', `/api/memberships/${cyMembership.id}`, await s.ann.token());
  await send(s.cy, 'am I still here?');
  await page.getByTestId('send-error').filter({ hasText: 'am I still here?' }).waitFor(WAIT);
  assert.equal(await page.getByTestId('pending-message').count(), 0, 'the optimistic message was taken back');
  assert.match(await page.getByTestId('send-error').textContent(), /refused/);
  await shot(s.cy, '5-send-refused');
  s.cy.release();
  await page.getByTestId('not-member').waitFor(WAIT);
  const bodies = (await roomMessages(s.roomId)).map((m) => m.body);
  assert.ok(!bodies.includes('am I still here?'));
});

test('public rooms are listed to everyone signed in, live, and anyone joins them', { skip }, async () => {
  s.step = 'public rooms are listed to everyone signed in, live, and anyone joins them';
  // Bob (out of Ann's room now) opens a public room; Cy sees it appear on the room list and joins it.
  await s.cy.page.getByRole('link', { name: 'ssot chat' }).click();
  await s.bob.page.getByRole('link', { name: 'ssot chat' }).click();
  await s.bob.page.getByPlaceholder('Room name').fill('Random');
  await s.bob.page.getByRole('button', { name: 'Create' }).click();
  await s.bob.page.getByTestId('room-title').filter({ hasText: 'Random' }).waitFor(WAIT);
  const listed = s.cy.page.getByTestId('public-rooms').locator('li', { hasText: 'Random' });
  await listed.waitFor(WAIT);
  await listed.getByRole('button', { name: 'Join' }).click();
  await s.cy.page.getByTestId('room-title').filter({ hasText: 'Random' }).waitFor(WAIT);
  await s.bob.page.locator(`[data-testid=member][data-user="${s.cy.email}"] [data-testid=online]`).waitFor(WAIT);
  await send(s.cy, 'hi Bob, Cy here');
  await s.bob.page.getByText('hi Bob, Cy here').waitFor(WAIT);
  // Joining oneself as the owner is refused: the rule admits a plain member only.
  const own = await rest('POST', '/api/memberships', await s.ann.token(), { roomId: Number(new URL(s.bob.page.url()).pathname.split('/').pop()), userId: s.ann.id, role: 'owner' });
  assert.equal(own.status, 403, JSON.stringify(own.body));
});

test('no page errors; every message created reached the webhook receiver, signed', { skip }, async () => {
  s.step = 'no page errors; every message created reached the webhook receiver, signed';
  for (const p of [s.ann, s.bob, s.cy]) assert.deepEqual(p.errors, [], `${p.name}'s page had no errors`);
  // @@service: every message created reached the receiver (at least once), signed.
  const created = (await rest('GET', '/api/messages?take=1000', ADMIN_KEY)).body.data.map((m) => m.id);
  const delivered = () => new Set(s.receiver.deliveries.filter((d) => d.event?.type === 'message.created').map((d) => d.event.data.id));
  const deadline = Date.now() + 15_000;
  while (created.some((id) => !delivered().has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const deliveries = s.receiver.deliveries;
  console.log(`WEBHOOK: ${deliveries.length} deliveries for ${created.length} messages (${deliveries.filter((d) => d.verified).length} verified)`);
  assert.deepEqual(created.filter((id) => !delivered().has(id)), [], 'every message created was delivered');
  assert.ok(deliveries.every((d) => d.verified === true), 'every delivery carries a valid signature');
  assert.equal(new Set(deliveries.map((d) => d.id)).size, delivered().size, 'one webhook-id per message');
});
