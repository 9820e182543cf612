/**
 * Live queries against a real server: a list subscription sees created/updated/deleted/entered/left and the
 * cache follows; read-your-writes; an optimistic update rolled back on a 403; presence between two clients; a
 * live query started from rows known at a `seq` (a server-rendered page) resumes from it.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { SsotError, seqOf, type LiveChange } from '../src/index.js';
import { client, disconnectAll, recordingWebSocket, userClient, userId, waitFor, type Post } from './helpers.js';
import { Server } from './server.js';

let server: Server;
beforeAll(async () => {
  server = await Server.start();
});
afterAll(async () => {
  disconnectAll();
  await server.dispose();
});

test('a live list sees created, updated, left, entered, deleted, and patches the cache', async () => {
  const writer = await userClient(server.url, { transport: 'http' });
  const reader = await userClient(server.url, { transport: 'ws' });
  const tag = `live-${Date.now()}`;
  const changes: Array<{ rows: Post[]; change: LiveChange }> = [];
  const live = reader.$model('Post').subscribe(
    { where: { published: true, title: { startsWith: tag } }, orderBy: { views: 'desc' } },
    (rows, change) => changes.push({ rows, change }),
  );
  assert.deepEqual(await live.ready, []);
  const posts = writer.$model('Post');
  const ops = () => changes.flatMap((c) => c.change.events.map((e) => e.op));
  const settle = async (seq: number | undefined) => {
    assert.equal(typeof seq, 'number');
    await live.waitForSeq(seq!);
  };

  const a = await posts.create({ data: { title: `${tag} a`, authorId: userId(writer), published: true, views: 1 } });
  await settle(seqOf(a));
  const b = await posts.create({ data: { title: `${tag} b`, authorId: userId(writer), published: true, views: 2 } });
  await settle(seqOf(b));
  assert.deepEqual(live.value.map((p) => p.title), [`${tag} b`, `${tag} a`]);

  const a2 = await posts.update({ where: { id: a.id }, data: { views: 10 } });
  await settle(seqOf(a2));
  assert.deepEqual(live.value.map((p) => p.title), [`${tag} a`, `${tag} b`], 'moved to its new place');
  assert.equal(reader.$cache.get<Post>('Post', a.id)?.views, 10, 'the cache holds the new row');

  const a3 = await posts.update({ where: { id: a.id }, data: { published: false } });
  await settle(seqOf(a3));
  assert.deepEqual(live.value.map((p) => p.id), [b.id], 'unpublished: left the view');
  const a4 = await posts.update({ where: { id: a.id }, data: { published: true } });
  await settle(seqOf(a4));
  assert.deepEqual(live.value.map((p) => p.id), [a.id, b.id], 'published again: entered');
  const gone = await posts.delete({ where: { id: b.id } });
  await settle(seqOf(gone));
  assert.deepEqual(live.value.map((p) => p.id), [a.id]);
  assert.equal(reader.$cache.get('Post', b.id), undefined, 'a deleted row leaves the cache');

  assert.deepEqual(ops(), ['created', 'created', 'updated', 'left', 'entered', 'deleted']);
  // Every change is one notification per update message, its seq increasing.
  const seqs = changes.map((c) => c.change.seq);
  assert.deepEqual([...seqs].sort((x, y) => x - y), seqs);
  assert.equal(new Set(seqs).size, seqs.length);
  assert.deepEqual(live.value, await reader.$model('Post').findMany({ where: { published: true, title: { startsWith: tag } }, orderBy: { views: 'desc' } }));
});

test('events of one update message reach a listener as one notification', async () => {
  const writer = await userClient(server.url, { transport: 'http' });
  const reader = await userClient(server.url, { transport: 'ws' });
  const tag = `batch-${Date.now()}`;
  const live = reader.$model('Post').subscribe({ where: { title: { startsWith: tag } } });
  await live.ready;
  const notifications: number[] = [];
  live.onChange((_rows, change) => notifications.push(change.events.length));
  const result = await writer.$model('Post').createMany({
    data: [1, 2, 3].map((n) => ({ title: `${tag} ${n}`, authorId: userId(writer), published: true })),
  });
  await live.waitForSeq(seqOf(result)!);
  assert.equal(live.value.length, 3);
  assert.deepEqual(notifications, [3], 'three creates in one transaction: one notification');
});

test('read-your-writes: after a write resolves, waiting for its seq makes the live query show it', async () => {
  const c = await userClient(server.url, { transport: 'hybrid', writes: 'http' });
  const tag = `ryw-${Date.now()}`;
  const live = c.$model('Post').subscribe({ where: { title: { startsWith: tag } } });
  await live.ready;
  for (let i = 0; i < 5; i += 1) {
    const row = await c.$model('Post').create({ data: { title: `${tag} ${i}`, authorId: userId(c) } }, { awaitLive: false });
    const seq = seqOf(row);
    assert.ok(typeof seq === 'number' && seq > 0, 'the write carries its seq');
    await live.waitForSeq(seq);
    assert.ok(live.knownSeq >= seq);
    assert.ok(live.value.some((p) => p.id === row.id), `write ${i} is in the live query`);
  }
});

test('read-your-writes by default: a write resolves once every live query of the client shows it', async () => {
  const c = await userClient(server.url, { transport: 'hybrid', writes: 'http' });
  const tag = `ryw-default-${Date.now()}`;
  const mine = c.$model('Post').subscribe({ where: { title: { startsWith: tag } } });
  const count = c.$model('Post').subscribe({ where: { title: { startsWith: tag } }, orderBy: { id: 'desc' }, take: 1 });
  await Promise.all([mine.ready, count.ready]);
  for (let i = 0; i < 5; i += 1) {
    const row = await c.$model('Post').create({ data: { title: `${tag} ${i}`, authorId: userId(c) } });
    // No wait here: the promise resolved only once both views had the row.
    assert.ok(mine.value.some((p) => p.id === row.id), `write ${i} is in the first live query`);
    assert.equal(count.value[0]?.id, row.id, `write ${i} tops the second`);
    const updated = await c.$model('Post').update({ where: { id: row.id }, data: { views: 7 } });
    assert.equal(mine.value.find((p) => p.id === row.id)?.views, 7, `the update ${i} shows`);
    assert.equal(updated.views, 7);
  }
  await c.$model('Post').deleteMany({ where: { title: { startsWith: tag } } });
  assert.equal(mine.value.length, 0, 'a bulk delete shows when it resolves');
});

test('read-your-writes for a write the live query does not show: `sync` answers at once', async () => {
  const c = await userClient(server.url, { transport: 'hybrid', writes: 'http' });
  const tag = `sync-${Date.now()}`;
  const live = c.$model('Post').subscribe({ where: { title: { startsWith: tag } } });
  await live.ready;
  const elsewhere = await c.$model('Post').create({ data: { title: `not-${tag}`, authorId: userId(c) } }, { awaitLive: false });
  const seq = seqOf(elsewhere)!;
  assert.ok(live.knownSeq < seq, 'no update came for a write the view does not show');
  const started = Date.now();
  // Without `sync` this would wait for the next update or time out.
  await live.waitForSeq(seq, 3_000);
  assert.ok(Date.now() - started < 2_000, `confirmed in ${Date.now() - started} ms`);
  assert.ok(live.knownSeq >= seq);
  assert.equal(live.value.length, 0);
});

test('an optimistic update shows at once and is rolled back when the server refuses it (403)', async () => {
  const owner = await userClient(server.url, { transport: 'http' });
  const other = await userClient(server.url, { transport: 'ws' });
  const tag = `opt-${Date.now()}`;
  const post = await owner.$model('Post').create({ data: { title: `${tag} original`, authorId: userId(owner), published: true } });
  const live = other.$model('Post').subscribe({ where: { title: { startsWith: tag } } });
  await live.ready;
  const seen: string[] = [];
  live.onChange((rows, change) => seen.push(`${change.source}:${rows[0]?.title}`));
  const attempt = other.$model('Post').update({ where: { id: post.id }, data: { title: `${tag} hacked` } }, { optimistic: true });
  assert.equal(live.value[0]?.title, `${tag} hacked`, 'shown before the answer');
  await assert.rejects(attempt, (error: unknown) => error instanceof SsotError && error.status === 403 && error.code === 'forbidden');
  assert.equal(live.value[0]?.title, `${tag} original`, 'rolled back');
  assert.deepEqual(seen, [`local:${tag} hacked`, `local:${tag} original`]);

  // An accepted optimistic update stays, and the server's row replaces the guess.
  const ownerLive = owner.$model('Post').subscribe({ where: { title: { startsWith: tag } } });
  await ownerLive.ready;
  const done = owner.$model('Post').update({ where: { id: post.id }, data: { title: `${tag} renamed` } }, { optimistic: true, via: 'http' });
  assert.equal(ownerLive.value[0]?.title, `${tag} renamed`);
  const row = await done;
  await ownerLive.waitForSeq(seqOf(row)!);
  assert.equal(ownerLive.value[0]?.title, `${tag} renamed`);
  await waitFor('the other subscriber sees the rename', () => live.value[0]?.title === `${tag} renamed`);
});

test('presence: two clients see each other join, change state, broadcast and leave', async () => {
  const a = await userClient(server.url, { transport: 'ws' });
  const b = await userClient(server.url, { transport: 'ws' });
  const room = await a.$model('Room').create({ data: { name: 'lobby' } });
  const inA = a.$model('Room').channel<{ typing: boolean }, { x: number }>(room.id);
  const inB = b.$model('Room').channel<{ typing: boolean }, { x: number }>(room.id);
  const eventsA: string[] = [];
  inA.onPresence((_members, event, who) => eventsA.push(`${event}:${who?.user ?? ''}`));
  const broadcasts: Array<{ event: string; x: number }> = [];
  inA.onBroadcast((event, payload) => broadcasts.push({ event, x: payload.x }));

  const membersA = await inA.join({ typing: false });
  assert.equal(membersA.length, 1);
  const membersB = await inB.join({ typing: false });
  assert.equal(membersB.length, 2);
  await waitFor('A sees B join', () => inA.members.size === 2);
  assert.ok(eventsA.includes(`join:${userId(b)}`));

  inB.setState({ typing: true });
  await waitFor('A sees B typing', () => [...inA.members.values()].some((m) => m.user === userId(b) && m.state?.typing === true));
  assert.ok(inB.broadcast('cursor', { x: 7 }));
  await waitFor('A gets the broadcast', () => broadcasts.length === 1);
  assert.deepEqual(broadcasts, [{ event: 'cursor', x: 7 }]);

  inB.leave();
  await waitFor('A sees B leave', () => inA.members.size === 1);
  assert.ok(eventsA.includes(`leave:${userId(b)}`));
  assert.equal([...inA.members.values()][0]?.user, userId(a));
});

test('a refused subscription rejects `ready` with a typed error', async () => {
  const c = await userClient(server.url, { transport: 'ws' });
  const live = c.$model('Room').subscribe({});
  await assert.rejects(live.ready, (error: unknown) => error instanceof SsotError && error.code === 'not_subscribable');
  assert.equal(live.state, 'closed');
});

test('a live query started from a page known at a seq shows it at once and resumes with since: a later write is not lost', async () => {
  const writer = await userClient(server.url, { transport: 'http' });
  const tag = `start-${Date.now()}`;
  const posts = writer.$model('Post');
  const first = await posts.create({ data: { title: `${tag} 0`, authorId: userId(writer), published: true, views: 1 } });
  const args = { where: { title: { startsWith: tag } }, orderBy: { id: 'asc' } } as const;
  // "The server": a page read over HTTP, as the same user, at its seq.
  const page = await posts.findPage(args);
  assert.deepEqual(page.data.map((p) => p.id), [first.id]);
  // Between that read and the subscription: a create and an update.
  const second = await posts.create({ data: { title: `${tag} 1`, authorId: userId(writer) } });
  await posts.update({ where: { id: first.id }, data: { views: 7 } });

  const { WebSocket, wire } = recordingWebSocket();
  const reader = client(server.url, { transport: 'ws', token: writer.auth.session!.accessToken, WebSocket });
  const changes: LiveChange[] = [];
  const live = reader.$model('Post').subscribe(args, (_rows, change) => changes.push(change), { seq: page.meta.seq, value: page.data });
  assert.deepEqual(live.value, page.data, 'the known rows show before the server answers');
  assert.equal(live.seq, page.meta.seq);
  const rows = await live.ready;
  assert.deepEqual(rows.map((p) => [p.id, p.views]), [[first.id, 7], [second.id, 0]], 'what changed after the seq is there');
  assert.deepEqual(live.value, await posts.findMany(args));
  assert.ok(live.seq > page.meta.seq);
  const subscribe = wire.sent.find((m) => m.type === 'subscribe');
  assert.equal(subscribe?.since, page.meta.seq, 'subscribed with since: the page\'s seq');

  // An item the same way, on a client of its own (the list above would bring the newer row into a shared cache,
  // and the cache keeps the newest it has heard of: the known row would not show).
  const itemPage = await posts.findPage({ where: { id: second.id } });
  await posts.update({ where: { id: second.id }, data: { title: `${tag} 1 renamed` } });
  const itemWire = recordingWebSocket();
  const itemReader = client(server.url, { transport: 'ws', token: writer.auth.session!.accessToken, WebSocket: itemWire.WebSocket });
  const item = itemReader.$model('Post').subscribeItem(second.id, {}, undefined, { seq: itemPage.meta.seq, value: itemPage.data[0] ?? null });
  assert.equal(item.value?.title, `${tag} 1`);
  assert.equal((await item.ready)?.title, `${tag} 1 renamed`);
  const itemSubscribe = itemWire.wire.sent.find((m) => m.type === 'subscribe');
  assert.equal(itemSubscribe?.since, itemPage.meta.seq);
  assert.equal(changes.every((c) => c.seq > page.meta.seq), true);
});

// Found by examples/chat: a room's `members` filtered to oneself on the room list and all of them on the room
// page. The cache keeps one copy of each row; a relation two views include with different arguments is each
// view's own, and each view shows the fields it selected, no more.
test('two live views including one relation with different arguments each keep their own', async () => {
  const c = await userClient(server.url, { transport: 'ws' });
  const post = await c.$model('Post').create({ data: { title: `rel-${Date.now()}`, authorId: userId(c), published: true } });
  const byName = c.$model('Post').subscribe({ where: { id: post.id }, include: { author: { select: { name: true } } } });
  await byName.ready;
  const byEmail = c.$model('Post').subscribe({ where: { id: post.id }, include: { author: { select: { email: true } } } });
  await byEmail.ready;
  assert.deepEqual(Object.keys((byEmail.value[0] as unknown as { author: object }).author), ['email']);
  assert.deepEqual(Object.keys((byName.value[0] as unknown as { author: object }).author), ['name'], 'the first view still shows what it asked for');
  const titles = c.$model('Post').subscribe({ where: { id: post.id }, select: { title: true } });
  await titles.ready;
  assert.deepEqual(Object.keys(titles.value[0] ?? {}).sort(), ['id', 'title'], 'a view selecting a field shows it (and the id live rows carry), not what other views fetched');
  await c.$model('Post').update({ where: { id: post.id }, data: { title: `${post.title}!` } });
  assert.equal(titles.value[0]?.title, `${post.title}!`, 'a write reaches every view through the shared copy');
  assert.equal((byName.value[0] as unknown as { title: string }).title, `${post.title}!`);
  assert.deepEqual(Object.keys((byName.value[0] as unknown as { author: object }).author), ['name'], 'and leaves each view its relations');
});
