// @vitest-environment jsdom
/**
 * The React adapter's writes against a real server: an optimistic `useUpdate` shows in the live list at once and
 * is rolled back when the server refuses it (a policy's 403); an accepted one stays; an optimistic `useDelete`
 * hides the row at once. The writing client talks through a proxy that holds back what the server sends (answers
 * and live updates) for a second, so that what the component shows within half of it is the guess, not a race.
 */
import assert from 'node:assert/strict';
import { act, renderHook, waitFor } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, test } from 'vitest';
import { SsotError } from '../src/index.js';
import { ssotQueryKey, useDelete, useFindMany, useUpdate } from '../src/react/index.js';
import { disconnectAll, userClient, userId, type Post, type Schema } from './helpers.js';
import { cacheLog, harness } from './react-helpers.js';
import { Proxy, Server } from './server.js';

let server: Server;
let slow: Proxy;
beforeAll(async () => {
  server = await Server.start();
  slow = await Proxy.start(server.port);
});
afterEach(() => {
  disconnectAll();
  slow.delayMs = 0;
});
afterAll(async () => {
  await slow.close();
  await server.dispose();
});

/** A signed-in client talking to the server through the proxy (its HTTP and its socket). */
function slowClient() {
  return userClient(slow.url, { transport: 'hybrid', writes: 'http' });
}

/** From now on, the server's answers and live updates come a second late: only a guess shows before. */
const LATE_MS = 1_000;
const BEFORE_ANSWER = { timeout: LATE_MS / 2 };

const until = { timeout: 10_000 };

test('an optimistic useUpdate shows at once and is rolled back when the server refuses it (403)', async () => {
  const owner = await userClient(server.url, { transport: 'http' });
  const other = await slowClient();
  const tag = `rm-opt-${Date.now()}`;
  const post = await owner.$model('Post').create({ data: { title: `${tag} original`, authorId: userId(owner), published: true } });
  const { wrapper, queryClient } = harness(other);
  const args = { where: { title: { startsWith: tag } } };
  const rendered: Array<string | undefined> = [];
  const { result } = renderHook(
    () => {
      const list = useFindMany<Schema, 'Post'>('Post', args);
      rendered.push(list.data?.[0]?.title);
      return { list, update: useUpdate<Schema, 'Post'>('Post', { optimistic: true }) };
    },
    { wrapper },
  );
  await waitFor(() => assert.equal(result.current.list.data?.[0]?.title, `${tag} original`), until);
  const log = cacheLog<Post[]>(queryClient, ssotQueryKey('Post', 'findMany', args));
  slow.delayMs = LATE_MS;
  const outcome: { error?: unknown } = {};
  const attempt = result.current.update.mutateAsync({ where: { id: post.id }, data: { title: `${tag} hacked` } }).catch((error: unknown) => {
    outcome.error = error;
  });
  // Rendered before the server answers.
  await waitFor(() => assert.equal(result.current.list.data?.[0]?.title, `${tag} hacked`), BEFORE_ANSWER);
  assert.equal(outcome.error, undefined, 'no answer yet');
  await act(() => attempt);
  log.stop();
  const refused = (outcome as { error?: unknown }).error; // set by the catch above (TypeScript kept the narrowing)
  assert.ok(refused instanceof SsotError && refused.status === 403 && refused.code === 'forbidden', String(refused));
  // The cache (what the component is given) had the guess, then the server's row again.
  assert.deepEqual(log.values.map((rows) => rows[0]?.title), [`${tag} hacked`, `${tag} original`]);
  await waitFor(() => assert.equal(result.current.update.isError, true), until);
  assert.equal(result.current.list.data?.[0]?.title, `${tag} original`);
  assert.equal(rendered.at(-1), `${tag} original`);
  assert.equal((await owner.$model('Post').findUnique({ where: { id: post.id } }))?.title, `${tag} original`);
});

test('an accepted optimistic useUpdate stays; an optimistic useDelete hides the row at once', async () => {
  const owner = await slowClient();
  const tag = `rm-ok-${Date.now()}`;
  const posts = owner.$model('Post');
  const a = await posts.create({ data: { title: `${tag} a`, authorId: userId(owner) } });
  const b = await posts.create({ data: { title: `${tag} b`, authorId: userId(owner) } });
  const { wrapper, queryClient } = harness(owner);
  const args = { where: { title: { startsWith: tag } }, orderBy: { id: 'asc' } } as const;
  const { result } = renderHook(
    () => ({
      list: useFindMany<Schema, 'Post'>('Post', args),
      update: useUpdate<Schema, 'Post'>('Post', { optimistic: (row) => ({ views: row.views + 1 }) }),
      remove: useDelete<Schema, 'Post'>('Post', { optimistic: true }),
    }),
    { wrapper },
  );
  await waitFor(() => assert.equal(result.current.list.data?.length, 2), until);
  slow.delayMs = LATE_MS;
  let answered = false;
  const updating = result.current.update.mutateAsync({ where: { id: a.id }, data: { views: { increment: 1 } } as never });
  const deleting = result.current.remove.mutateAsync({ where: { id: b.id } });
  const both = Promise.all([updating, deleting]).finally(() => (answered = true));
  // Before any answer: the guessed views, and the deleted row hidden.
  await waitFor(() => assert.deepEqual(result.current.list.data?.map((p) => [p.id, p.views]), [[a.id, 1]]), BEFORE_ANSWER);
  assert.equal(answered, false, 'shown before the server answered');
  const stored = queryClient.getQueryData<{ data: Post[] }>(ssotQueryKey('Post', 'findMany', args));
  assert.deepEqual(stored?.data.map((p) => p.id), [a.id]);
  await act(() => both);
  await waitFor(() => assert.deepEqual(result.current.list.data?.map((p) => [p.id, p.views]), [[a.id, 1]]), until);
  assert.deepEqual(result.current.list.data, await posts.findMany(args));
});
