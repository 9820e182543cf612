/**
 * Sessions: signup, login, me, logout, and refreshing before expiry, on a server whose access tokens live
 * 4 seconds, so that a client that did not refresh would see its requests refused and its socket closed
 * with 4401.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { SsotError, jwtExpiry, type StatusInfo } from '../src/index.js';
import { client, disconnectAll, sleep, waitFor } from './helpers.js';
import { Server } from './server.js';

let server: Server;
beforeAll(async () => {
  server = await Server.start({ tokenExpiry: '4s' });
});
afterAll(async () => {
  disconnectAll();
  await server.dispose();
});

test('signup, login, me, logout', async () => {
  const c = client(server.url, { transport: 'http' });
  const email = `ann-${Date.now()}@example.com`;
  const session = await c.auth.signup({ email, password: 'correct horse battery' });
  assert.equal((session.user as { email: string }).email, email);
  assert.equal(((await c.auth.me()) as { email: string }).email, email);
  await c.auth.logout();
  assert.equal(c.auth.session, undefined);
  await assert.rejects(c.auth.me(), (e: unknown) => e instanceof SsotError && e.status === 401);
  await assert.rejects(c.auth.login({ email, password: 'wrong password!' }), (e: unknown) => e instanceof SsotError && e.code === 'unauthorized');
  await c.auth.login({ email, password: 'correct horse battery' });
  assert.equal(((await c.auth.me()) as { email: string }).email, email);
});

test('a session set just after the client is created (a stored one) is the first connection\'s credentials', async () => {
  const first = client(server.url, { transport: 'http' });
  const session = await first.auth.signup({ email: `dee-${Date.now()}@example.com`, password: 'correct horse battery' });
  // A hybrid client opens its socket in the constructor; the app restores its stored session on the next line,
  // while that socket is still connecting.
  const c = client(server.url, { transport: 'hybrid' });
  c.$tokens.setSession(session);
  const live = c.$model('Post').subscribe({ where: { authorId: (session.user as { id: string }).id } });
  await live.ready;
  assert.equal(c.$socket.caller?.kind, 'user', 'the socket speaks as the session\'s user');
  const room = await c.$model('Room').create({ data: { name: 'restored' } });
  const members = await c.$model('Room').channel(room.id).join(null);
  assert.equal(members.length, 1);
});

test('the token is refreshed before it expires: requests and the socket go on', async () => {
  const c = client(server.url, { transport: 'ws', refreshSkewMs: 60_000 });
  const statuses: StatusInfo[] = [];
  c.$onStatus((info) => statuses.push(info));
  const first = await c.auth.signup({ email: `bob-${Date.now()}@example.com`, password: 'correct horse battery' });
  const expiry = jwtExpiry(first.accessToken)!;
  assert.ok(expiry - Date.now() <= 4_500, 'the server issues short tokens');
  const id = (first.user as { id: string }).id;
  await c.$model('Post').create({ data: { title: 'refresh', authorId: id, published: true } });
  const live = c.$model('Post').subscribe({ where: { authorId: id } });
  await live.ready;
  // Past the first token's expiry (4 s, plus the server's 5 s of leeway is not relied upon: refreshes are at 2 s).
  await waitFor('a refresh', () => c.auth.session!.accessToken !== first.accessToken, 5_000);
  await sleep(Math.max(0, expiry - Date.now()) + 1_500);
  assert.notEqual(c.auth.session!.accessToken, first.accessToken);
  assert.ok(jwtExpiry(c.auth.session!.accessToken)! > Date.now(), 'the current token is valid');
  // The socket was never closed for its token, and still answers as the user.
  assert.deepEqual(statuses.filter((s) => s.closeCode === 4401), []);
  assert.equal(c.$status, 'open');
  assert.equal((await c.$model('Post').findMany({ where: { authorId: id } })).length, 1);
  const more = await c.$model('Post').create({ data: { title: 'after refresh', authorId: id } });
  await waitFor('the live query still follows', () => live.value.some((p) => p.id === more.id));
  assert.equal(((await c.auth.me()) as { id: string }).id, id, 'HTTP with the refreshed token');
});

test('a socket whose token the server refuses (4401) is reconnected with a refreshed session', async () => {
  const c = client(server.url, { transport: 'ws', refreshSkewMs: 0, backoff: { initialMs: 20, maxMs: 100 } });
  const statuses: StatusInfo[] = [];
  c.$onStatus((info) => statuses.push(info));
  // No refresh ahead of time (skew 0, and the socket's own margin disabled by stopping the timer's effect):
  // the server closes the socket at expiry and the client must come back with a new token.
  const first = await c.auth.signup({ email: `cid-${Date.now()}@example.com`, password: 'correct horse battery' });
  c.$tokens.stop();
  (c.$socket as unknown as { scheduleReauth: () => void }).scheduleReauth = () => undefined;
  c.$connect();
  await waitFor('open', () => c.$status === 'open');
  await waitFor('closed with 4401 at expiry', () => statuses.some((s) => s.closeCode === 4401), 12_000);
  await waitFor('open again', () => c.$status === 'open', 5_000);
  assert.notEqual(c.auth.session?.accessToken, first.accessToken, 'refreshed for the new connection');
  assert.equal((c.$socket.caller as { kind: string }).kind, 'user');
});
