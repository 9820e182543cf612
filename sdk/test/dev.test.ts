/**
 * `ssot dev` swapping the schema under a connected client: a field added to `Post` (with a default: no question
 * asked) is served without dropping the WebSocket. The live list gets a fresh snapshot carrying the new field, a
 * row created afterwards arrives in it with the field, and the channel is joined again (presence and broadcasts
 * work as before), all over the connection the client had.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { seqOf, type LiveChange, type StatusInfo } from '../src/index.js';
import { disconnectAll, recordingWebSocket, userClient, userId, waitFor, type Post } from './helpers.js';
import { Server } from './server.js';

let server: Server;
beforeAll(async () => {
  server = await Server.start({ command: 'dev' });
});
afterAll(async () => {
  disconnectAll();
  await server?.dispose();
});

/** `Post` once the field is added. */
type DevPost = Post & { mood: string };
type Who = { who: string };
type Ping = { n: number };

const SLOW = 30_000;

test('a schema swap under ssot dev: the live list gets the new field, the channel is joined again, the socket stays', async () => {
  const recA = recordingWebSocket();
  const recB = recordingWebSocket();
  const a = await userClient(server.url, { transport: 'ws', WebSocket: recA.WebSocket });
  const b = await userClient(server.url, { transport: 'ws', WebSocket: recB.WebSocket });
  const writer = await userClient(server.url, { transport: 'http' });
  const statuses: Record<'a' | 'b', StatusInfo[]> = { a: [], b: [] };
  a.$onStatus((info) => statuses.a.push(info));
  b.$onStatus((info) => statuses.b.push(info));

  // Before: a live list of posts, and both clients in a room's channel.
  const tag = `dev-${Date.now()}`;
  const first = await writer.$model('Post').create({ data: { title: `${tag} 0`, authorId: userId(writer), published: true } });
  const changes: Array<{ rows: DevPost[]; change: LiveChange }> = [];
  const live = a.$model('Post').subscribe({ where: { title: { startsWith: tag } }, orderBy: { id: 'asc' } }, (rows, change) =>
    changes.push({ rows: rows as DevPost[], change }),
  );
  assert.deepEqual((await live.ready).map((p) => p.id), [first.id]);
  assert.equal('mood' in live.value[0]!, false, 'no such field yet');

  const room = await a.$model('Room').create({ data: { name: `${tag} room` } });
  const inA = a.$model('Room').channel<Who, Ping>(room.id);
  const inB = b.$model('Room').channel<Who, Ping>(room.id);
  const syncs = { a: 0, b: 0 };
  // `sync`: a `joined` answered (the first join, and each join again).
  inA.onPresence((_members, event) => {
    if (event === 'sync') syncs.a += 1;
  });
  inB.onPresence((_members, event) => {
    if (event === 'sync') syncs.b += 1;
  });
  const heard: Array<[string, number, string | null]> = [];
  inA.onBroadcast((event, payload, from) => heard.push([event, payload.n, from.user]));
  const leftA: Array<string | undefined> = [];
  inA.onLeft((code) => leftA.push(code));
  await inA.join({ who: 'a' });
  await inB.join({ who: 'b' });
  const bothIn = (): boolean =>
    [inA, inB].every((ch) => ch.me !== undefined && [...ch.members.values()].map((m) => m.user).sort().join() === [userId(a), userId(b)].sort().join());
  await waitFor('both see each other in the channel', bothIn, SLOW);
  assert.equal(inB.broadcast('ping', { n: 1 }), true);
  await waitFor('the broadcast before the swap', () => heard.length === 1, SLOW);
  assert.deepEqual(syncs, { a: 1, b: 1 });
  assert.equal(a.$status, 'open');
  assert.equal(b.$status, 'open');
  const statusesBefore = { a: statuses.a.length, b: statuses.b.length };
  const changesBefore = changes.length;

  // The swap: a field with a default added to Post.
  await server.editSchema((schema) => {
    const field = '  views     Int     @default(0)\n';
    assert.ok(schema.includes(field), 'the fixture declares Post.views');
    return schema.replace(field, `${field}  mood      String  @default("calm")\n`);
  }, 60_000);

  // (a) The live list was answered again: a snapshot whose rows carry the new field.
  await waitFor('a fresh snapshot with the new field', () => changes.slice(changesBefore).some((c) => c.change.reset && c.rows.length === 1 && c.rows[0]!.mood === 'calm'), SLOW);
  assert.deepEqual(live.value, [{ ...first, mood: 'calm' }]);
  assert.equal(live.state, 'live');
  const subscribe = recA.wire.sent.find((m) => m.type === 'subscribe' && (m.args as { where?: { title?: { startsWith?: string } } }).where?.title?.startsWith === tag);
  assert.ok(subscribe, 'the client subscribed');
  assert.equal(recA.wire.sent.filter((m) => m.type === 'subscribe' && m.id === subscribe.id).length, 1, 'not subscribed again by the client');
  assert.equal(recA.wire.received.filter((m) => m.type === 'subscribed' && m.id === subscribe.id).length, 2, 'a second `subscribed`, same id, from the server');

  // (b) A row created after the swap (over REST, with the new field) arrives in the same live list.
  const data = { title: `${tag} 1`, authorId: userId(writer), published: true, mood: 'stormy' };
  const second = (await writer.$model('Post').create({ data })) as DevPost;
  assert.equal(second.mood, 'stormy', 'the REST API serves the new field');
  await live.waitForSeq(seqOf(second)!, SLOW);
  assert.deepEqual(
    (live.value as DevPost[]).map((p) => [p.id, p.mood]),
    [
      [first.id, 'calm'],
      [second.id, 'stormy'],
    ],
  );
  assert.ok(changes.some((c) => !c.change.reset && c.change.events.some((e) => e.op === 'created' && e.id === second.id)), 'it came as an event');

  // (c) Both were put out of the channel with `reloaded` and joined again by themselves.
  await waitFor('both joined again', () => syncs.a >= 2 && syncs.b >= 2, SLOW);
  await waitFor('both see each other again', bothIn, SLOW);
  for (const rec of [recA, recB]) {
    assert.deepEqual(
      rec.wire.received.filter((m) => m.type === 'left').map((m) => [m.channel, m.code]),
      [[`Room:channel:${room.id}`, 'reloaded']],
    );
    assert.equal(rec.wire.sent.filter((m) => m.type === 'join').length, 2, 'joined once more');
  }
  assert.deepEqual(leftA, [], 'the application was not told it left');
  assert.deepEqual(
    [...inB.members.values()].find((m) => m.user === userId(a))?.state,
    { who: 'a' },
    'joined again with its presence state',
  );
  assert.equal(inB.broadcast('ping', { n: 2 }), true);
  await waitFor('a broadcast after the swap', () => heard.length === 2, SLOW);
  assert.deepEqual(heard, [
    ['ping', 1, userId(b)],
    ['ping', 2, userId(b)],
  ]);

  // (d) All of it over the socket each client had: never reconnecting, no second socket, no error.
  assert.deepEqual(statuses.a.slice(statusesBefore.a), [], 'a: no change of status');
  assert.deepEqual(statuses.b.slice(statusesBefore.b), [], 'b: no change of status');
  assert.ok(!statuses.a.some((s) => s.status === 'reconnecting' || s.status === 'closed'));
  assert.ok(!statuses.b.some((s) => s.status === 'reconnecting' || s.status === 'closed'));
  assert.equal(a.$status, 'open');
  assert.equal(b.$status, 'open');
  assert.equal(recA.wire.opened, 1);
  assert.equal(recB.wire.opened, 1);
  assert.deepEqual([...recA.wire.received, ...recB.wire.received].filter((m) => m.type === 'error' || m.type === 'unsubscribed'), []);
  assert.match(server.output, /serving the new version/);
  assert.doesNotMatch(server.output, /apply it\?/);
});
