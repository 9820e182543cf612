/**
 * Losing the connection: a cut network (a TCP proxy dropping every connection and refusing new ones for a
 * while) makes the client back off, reconnect and resume with `since` (a replay: no gap, no duplicate); a
 * server restart on the same database gives a `reset`; a frozen server makes requests time out.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { TimeoutError, seqOf, type LiveChange, type StatusInfo } from '../src/index.js';
import { adminClient, disconnectAll, userClient, userId, waitFor, type Post } from './helpers.js';
import { Proxy, Server } from './server.js';

let server: Server;
beforeAll(async () => {
  server = await Server.start();
});
afterAll(async () => {
  disconnectAll();
  await server.dispose();
});

test('a cut connection: backoff, reconnect, resume with since: no gap, no duplicate', async () => {
  const proxy = await Proxy.start(server.port);
  try {
    const writer = await userClient(server.url, { transport: 'http' });
    const tag = `resume-${Date.now()}`;
    const posts = writer.$model('Post');
    const first = await posts.create({ data: { title: `${tag} 0`, authorId: userId(writer), published: true } });
    // Enough rows that replaying what is missed is smaller than sending them all (else the server resets).
    await posts.createMany({ data: Array.from({ length: 30 }, (_, i) => ({ title: `${tag} filler ${i}`, authorId: userId(writer), published: true })) });
    // The reader signs in directly, then talks through the proxy.
    const reader = await userClient(proxy.url, { transport: 'ws', backoff: { initialMs: 50, maxMs: 400, jitter: 0.5 } });
    const statuses: StatusInfo[] = [];
    reader.$onStatus((info) => statuses.push(info));
    const changes: LiveChange[] = [];
    const args = { where: { published: true, title: { startsWith: tag } }, orderBy: { id: 'asc' } };
    const live = reader.$model('Post').subscribe(args, (_rows, change) => changes.push(change));
    await live.ready;
    const second = await posts.create({ data: { title: `${tag} 1`, authorId: userId(writer), published: true } });
    await live.waitForSeq(seqOf(second)!);
    const seqBefore = live.seq;

    proxy.refuse = true;
    proxy.cut();
    await waitFor('the client notices', () => reader.$status === 'reconnecting');
    // Changes while it is away: a create, an update, a row that leaves, a delete.
    const third = await posts.create({ data: { title: `${tag} 2`, authorId: userId(writer), published: true } });
    await posts.update({ where: { id: first.id }, data: { views: 42 } });
    await posts.update({ where: { id: second.id }, data: { published: false } });
    const last = await posts.delete({ where: { id: third.id } });
    const fourth = await posts.create({ data: { title: `${tag} 3`, authorId: userId(writer), published: true } });
    await waitFor('three refused attempts', () => statuses.filter((s) => s.status === 'reconnecting').length >= 4);
    proxy.refuse = false;
    await live.waitForSeq(seqOf(fourth)!, 10_000);
    assert.ok(seqOf(fourth)! > seqOf(last)!);

    // Backoff: attempts numbered 1, 2, 3…, delays growing (each within its step), never above the maximum.
    const attempts = statuses.filter((s) => s.status === 'reconnecting');
    assert.deepEqual(attempts.map((s) => s.attempt), attempts.map((_, i) => i + 1));
    for (let i = 0; i < attempts.length; i += 1) {
      const step = Math.min(400, 50 * 2 ** i);
      assert.ok(attempts[i]!.delayMs! >= step / 2 && attempts[i]!.delayMs! <= step, `attempt ${i + 1}: ${attempts[i]!.delayMs} ms`);
    }
    assert.equal(statuses.at(-1)?.status, 'open');

    // Resumed, not reset: the missed changes came as events, each seq once, after the state before the cut.
    const afterCut = changes.filter((c) => c.seq > seqBefore);
    assert.ok(afterCut.length > 0);
    assert.ok(afterCut.every((c) => !c.reset), 'a replay, not a snapshot');
    const seqs = changes.map((c) => c.seq);
    assert.equal(new Set(seqs).size, seqs.length, 'no seq twice');
    assert.deepEqual([...seqs].sort((a, b) => a - b), seqs);
    assert.deepEqual(
      afterCut.flatMap((c) => c.events.map((e) => `${e.op}:${JSON.stringify(e.id)}`)).sort(),
      [`created:${third.id}`, `updated:${first.id}`, `left:${second.id}`, `deleted:${third.id}`, `created:${fourth.id}`].sort(),
    );
    const truth = await writer.$model('Post').findMany(args);
    assert.deepEqual(live.value, truth);
    assert.equal(live.value.find((p: Post) => p.id === first.id)?.views, 42);
  } finally {
    await proxy.close();
  }
});

test('a server restart on the same database: the client reconnects and its live query is reset to the truth', async () => {
  const dir = server.dir;
  const port = server.port;
  const writer = await userClient(server.url, { transport: 'http' });
  const tag = `restart-${Date.now()}`;
  const posts = writer.$model('Post');
  await posts.create({ data: { title: `${tag} 0`, authorId: userId(writer), published: true } });
  const token = writer.auth.session!.accessToken;
  const reader = await userClient(server.url, { transport: 'ws', backoff: { initialMs: 50, maxMs: 300 } });
  const changes: LiveChange[] = [];
  const args = { where: { title: { startsWith: tag } }, orderBy: { id: 'asc' } };
  const live = reader.$model('Post').subscribe(args, (_rows, change) => changes.push(change));
  await live.ready;

  await server.stop();
  await waitFor('the client notices the restart', () => reader.$status === 'reconnecting');
  // While the main server is down, another instance on the same database writes.
  const other = await Server.start({ dir });
  const viaOther = adminClient(other.url).$model('Post');
  await viaOther.create({ data: { title: `${tag} 1`, authorId: userId(writer), published: true } });
  await other.stop();
  server = await Server.start({ dir, port });
  void token;
  await waitFor('reconnected and reset', () => changes.some((c) => c.reset && c.seq > changes[0]!.seq), 15_000);
  assert.deepEqual(live.value.map((p) => p.title), [`${tag} 0`, `${tag} 1`]);
  const truth = await adminClient(server.url).$model('Post').findMany(args);
  assert.deepEqual(live.value, truth);
});

test('requests time out when the server does not answer (http and ws)', async () => {
  const overHttp = adminClient(server.url, { transport: 'http', timeoutMs: 300 });
  const overWs = adminClient(server.url, { transport: 'ws', timeoutMs: 300 });
  await overHttp.$model('Post').count(); // resources read, connection warm
  await overWs.$model('Post').count();
  server.pause();
  try {
    const started = Date.now();
    await assert.rejects(overHttp.$model('Post').count(), (e: unknown) => e instanceof TimeoutError && e.code === 'timeout');
    await assert.rejects(overWs.$model('Post').count(), (e: unknown) => e instanceof TimeoutError && e.timeoutMs === 300);
    await assert.rejects(overWs.$model('Post').count({}, { timeoutMs: 100 }), TimeoutError);
    const took = Date.now() - started;
    assert.ok(took >= 650 && took < 3000, `took ${took} ms`);
  } finally {
    server.resume();
  }
  assert.equal(typeof (await overWs.$model('Post').count()), 'number', 'the socket works again');
});
