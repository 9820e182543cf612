/**
 * The generated client (`ssot generate --target react` of the tests' schema, written into test/generated/ by
 * `npm test`) against a real server, over both transports: a delegate per model, results shaped by `select` and
 * `include`, update and delete by a unique other than the id, `findUniqueOrThrow`, a typed `$batch`; and every
 * live query of one client standing at one `seq`, even while a snapshot is ahead of the others' updates.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { afterAll, beforeAll, expectTypeOf, test } from 'vitest';
import type { SsotClient } from '../src/index.js';
import { createClient, SsotError, type $Client, type $UserScalars } from './generated/ssot.js';
import { ADMIN_KEY, Server } from './server.js';
import { waitFor } from './helpers.js';

let server: Server;
const clients: $Client[] = [];
beforeAll(async () => {
  server = await Server.start();
});
afterAll(async () => {
  for (const c of clients.splice(0)) c.$disconnect();
  await server.dispose();
});

function generated(url: string, options: { transport: 'http' | 'ws' | 'hybrid'; token?: string }): $Client {
  const c = createClient({ url, WebSocket, timeoutMs: 10_000, ...options });
  clients.push(c);
  return c;
}

let signups = 0;
async function signedIn(url: string, transport: 'http' | 'ws' | 'hybrid'): Promise<{ c: $Client; id: string; email: string }> {
  const c = generated(url, { transport });
  signups += 1;
  const email = `gen${signups}-${Date.now()}@example.com`;
  const session = await c.auth.signup({ email, password: 'correct horse battery' });
  // The signed-in user is typed as the `@@auth` model's row (an untyped client's is a plain object).
  expectTypeOf(session.user).toEqualTypeOf<$UserScalars>();
  expectTypeOf<NonNullable<SsotClient['auth']['session']>['user']>().toEqualTypeOf<Record<string, unknown>>();
  return { c, id: session.user.id, email };
}

for (const transport of ['http', 'ws'] as const) {
  test(`the generated delegates over ${transport}: shaped results, uniques, batches`, async () => {
    const { c, id, email } = await signedIn(server.url, transport);
    const admin = generated(server.url, { transport, token: ADMIN_KEY });
    const tag = `gen-${transport}-${Date.now()}`;
    const made = await c.post.create({ data: { title: `${tag} a`, authorId: id, published: true }, select: { id: true, title: true } });
    assert.deepEqual(Object.keys(made).sort(), ['id', 'title'], 'select shapes the answer');

    const withAuthor = await c.post.findMany({ where: { title: { startsWith: tag } }, include: { author: { select: { email: true } } } });
    assert.equal(withAuthor.length, 1);
    assert.deepEqual(withAuthor[0]!.author, { email }, 'include, with its own select');
    assert.equal(withAuthor[0]!.views, 0, 'include keeps the scalar fields');

    const byEmail = await c.user.findUnique({ where: { email }, include: { posts: { select: { title: true } } } });
    assert.deepEqual(byEmail?.posts, [{ title: `${tag} a` }], 'findUnique by a unique that is not the id');
    await assert.rejects(
      c.user.findUniqueOrThrow({ where: { email: `nobody-${tag}@example.com` } }),
      (e: unknown) => e instanceof SsotError && e.status === 404 && e.code === 'not_found',
    );

    // Users may be changed only by the admin key (no update rule): by e-mail, the id is read, then the update runs.
    const renamed = await admin.user.update({ where: { email }, data: { name: `named ${tag}` } });
    assert.equal(renamed.name, `named ${tag}`);
    assert.equal(renamed.id, id);
    await assert.rejects(
      admin.user.update({ where: { email: `nobody-${tag}@example.com` }, data: { name: 'x' } }),
      (e: unknown) => e instanceof SsotError && e.status === 404,
      'a unique that names nothing is a 404',
    );
    await assert.rejects(
      c.user.update({ where: { email }, data: { name: 'self' } }),
      (e: unknown) => e instanceof SsotError && e.status === 403,
      'the rules apply as by id',
    );

    const [second, counted] = await c.$batch([
      c.post.op.create({ data: { title: `${tag} b`, authorId: id }, select: { title: true } }),
      c.post.op.count({ where: { title: { startsWith: tag } } }),
    ]);
    assert.deepEqual(second, { title: `${tag} b` });
    assert.deepEqual(counted, { count: 2 }, 'the batch reads its own write');

    const gone = await admin.user.delete({ where: { email } });
    assert.equal(gone.id, id, 'delete by a unique');
    assert.equal(await admin.post.count({ where: { title: { startsWith: tag } } }), 0, 'the cascade ran');
  });
}

test('every live query of a client stands at one seq: a snapshot ahead of the others waits for their update', async () => {
  // This server notices other processes' writes every 1.5 s; a second server on the same database writes.
  const slow = await Server.start({ env: { SSOT_LOG_POLL_MS: '1500' } });
  const other = await Server.start({ dir: slow.dir });
  try {
    const { c, id } = await signedIn(slow.url, 'ws');
    const tag = `one-seq-${Date.now()}`;
    const where = { title: { startsWith: tag }, published: true };
    const first = c.post.subscribe({ where, orderBy: { id: 'asc' } });
    await first.ready;
    const writer = generated(other.url, { transport: 'http', token: ADMIN_KEY });
    const written = await writer.post.create({ data: { title: `${tag} 1`, authorId: id, published: true } });
    // Read now, this snapshot holds the write; `first` hears of it only when the slow server polls.
    const second = c.post.subscribe({ where, orderBy: { id: 'desc' } });
    const seen: Array<[number[], number[]]> = [];
    const look = (): void => {
      seen.push([first.value.map((p) => p.id), second.value.map((p) => p.id)]);
    };
    first.onChange(look);
    second.onChange(look);
    await second.ready;
    assert.deepEqual(second.value.map((p) => p.id), [written.id]);
    assert.deepEqual(first.value.map((p) => p.id), [written.id], 'shown together with the first view at the same seq');
    await waitFor('the first view hears of the write', () => first.seq >= second.seq, 5_000);
    for (const [a, b] of seen) assert.deepEqual([...a].sort(), [...b].sort(), `never one view ahead of the other: ${JSON.stringify(seen)}`);
  } finally {
    await other.dispose();
    await slow.dispose();
  }
});
