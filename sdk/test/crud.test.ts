/**
 * Operations over HTTP and over the socket give the same answers and the same typed errors, against a real
 * server: the delegates' mapping of Prisma-style arguments to the protocol, `$batch`, and problem fields.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { SsotError, seqOf } from '../src/index.js';
import { client, disconnectAll, userClient, userId } from './helpers.js';
import { Server } from './server.js';

let server: Server;
beforeAll(async () => {
  server = await Server.start();
});
afterAll(async () => {
  disconnectAll();
  await server.dispose();
});

/** The same script of operations, run over one transport; what it saw, ids made comparable. */
async function script(transport: 'http' | 'ws', userId: string, tag: string, url: string, token: string) {
  const c = client(url, { transport, token });
  const post = c.$model('Post');
  const seen: unknown[] = [];
  const created = await post.create({ data: { title: `${tag} one`, authorId: userId, published: true } });
  assert.equal(typeof seqOf(created), 'number', 'a write carries its seq');
  const second = await post.create({ data: { title: `${tag} two`, authorId: userId, views: 5 }, select: { id: true, title: true } });
  seen.push(Object.keys(second).sort());
  const strip = <T extends { id: number }>(row: T) => ({ ...row, id: row.id - created.id });
  seen.push(strip(created));
  seen.push((await post.findMany({ where: { title: { startsWith: tag } }, orderBy: { views: 'desc' } })).map(strip));
  seen.push(strip((await post.findUnique({ where: { id: created.id } }))!));
  seen.push(await post.findUnique({ where: { id: 999_999 } }));
  seen.push(strip((await post.findFirst({ where: { title: { startsWith: tag } }, orderBy: { views: 'desc' } }))!));
  seen.push(await post.count({ where: { title: { startsWith: tag } } }));
  const updated = await post.update({ where: { id: created.id }, data: { views: { increment: 3 } } as never });
  seen.push(strip(updated));
  seen.push(await post.createMany({ data: [{ title: `${tag} m1`, authorId: userId }, { title: `${tag} m2`, authorId: userId }] }));
  seen.push(await post.updateMany({ where: { title: { startsWith: `${tag} m` } }, data: { published: true } }));
  seen.push(await post.deleteMany({ where: { title: { startsWith: `${tag} m` } } }));
  seen.push(strip(await post.delete({ where: { id: second.id } })));
  const batch = await c.$batch([
    post.op.create({ data: { title: `${tag} b`, authorId: userId } }),
    post.op.updateMany({ where: { title: `${tag} b` }, data: { views: 9 } }),
  ]);
  seen.push((batch[1] as { count: number }).count);
  seen.push(await post.count({ where: { title: { startsWith: tag } } }));
  return seen;
}

test('CRUD over http and over ws give the same results', async () => {
  const owner = await userClient(server.url, { transport: 'http' });
  const ownerId = userId(owner);
  const token = owner.auth.session!.accessToken;
  const overHttp = await script('http', ownerId, 'h', server.url, token);
  const overWs = await script('ws', ownerId, 'w', server.url, token);
  const fix = (v: unknown) => JSON.parse(JSON.stringify(v).replace(/"title":"[hw] /g, '"title":"'));
  assert.deepEqual(fix(overWs), fix(overHttp));
  assert.equal(overHttp.at(-1), 2, 'the script ran to its end');
});

async function errors(transport: 'http' | 'ws', url: string, token: string, otherPost: number) {
  const c = client(url, { transport, token });
  const anonymous = client(url, { transport });
  const post = c.$model('Post');
  const out: Record<string, SsotError> = {};
  const catching = async (name: string, run: () => Promise<unknown>) => {
    try {
      await run();
      assert.fail(`${name}: expected an error`);
    } catch (error) {
      assert.ok(error instanceof SsotError, `${name}: ${String(error)}`);
      out[name] = error;
    }
  };
  await catching('invalid', () => post.create({ data: { title: 5 as unknown as string, authorId: 'x' } }));
  await catching('notFound', () => post.update({ where: { id: 999_999 }, data: { title: 'x' } }));
  await catching('forbidden', () => post.update({ where: { id: otherPost }, data: { title: 'mine now' } }));
  await catching('anonymous', () => anonymous.$model('User').findMany());
  await catching('unknownModel', () => c.$model('Nope' as 'Post').findMany());
  return out;
}

test('errors are typed, with the problem fields, the same over http and ws', async () => {
  const a = await userClient(server.url, { transport: 'http' });
  const b = await userClient(server.url, { transport: 'http' });
  const aId = userId(a);
  const theirs = await a.$model('Post').create({ data: { title: 'not yours', authorId: aId, published: true } });
  const token = b.auth.session!.accessToken;
  const overHttp = await errors('http', server.url, token, theirs.id);
  const overWs = await errors('ws', server.url, token, theirs.id);
  assert.equal(overHttp.invalid!.status, 400);
  assert.equal(overHttp.invalid!.code, 'invalid_request');
  assert.ok(overHttp.invalid!.errors.some((e) => e.path === 'data.title'), JSON.stringify(overHttp.invalid!.errors));
  assert.equal(overHttp.notFound!.status, 404);
  assert.equal(overHttp.notFound!.code, 'not_found');
  assert.equal(overHttp.forbidden!.status, 403);
  assert.equal(overHttp.forbidden!.code, 'forbidden');
  assert.equal(overHttp.anonymous!.status, 401);
  assert.equal(overHttp.unknownModel!.code, 'unknown_model');
  for (const name of ['invalid', 'notFound', 'forbidden', 'anonymous']) {
    const h = overHttp[name]!;
    const w = overWs[name]!;
    assert.deepEqual([w.status, w.code, w.type, w.title, w.errors], [h.status, h.code, h.type, h.title, h.errors], name);
  }
  assert.equal(overWs.unknownModel!.code, 'unknown_model');
});
