// @vitest-environment jsdom
/**
 * The React adapter's reads against a real server, rendered under jsdom: a list hook renders the rows and then
 * every create, update and delete another client makes; a record hook follows its record; a refused
 * subscription falls back to a plain read; a count is refetched after this client's write through a mutation
 * hook; a mutation resolves once the live list shows it (the socket slowed down by a proxy); Suspense;
 * `live: false`; and unmounting ends the subscription: the server stops sending.
 */
import assert from 'node:assert/strict';
import { Suspense, createElement as h } from 'react';
import { act, render, renderHook, screen, waitFor } from '@testing-library/react';
import { test } from 'vitest';
import { seqOf } from '../src/index.js';
import { ssotQueryKey, useCount, useCreate, useFindMany, useFindUnique, useSuspenseFindMany, type SsotQueryData } from '../src/react/index.js';
import { client, recordingWebSocket, userClient, userId, type Post, type Schema, fileServer } from './helpers.js';
import { cacheLog, harness } from './react-helpers.js';
import { Proxy } from './server.js';

const server = fileServer();

const until = { timeout: 10_000 };

test('useFindMany renders the rows, then re-renders live on another client\'s create, update and delete', async () => {
  const writer = await userClient(server.url, { transport: 'http' });
  const reader = await userClient(server.url, { transport: 'ws' });
  const tag = `rq-list-${Date.now()}`;
  const posts = writer.$model('Post');
  const first = await posts.create({ data: { title: `${tag} a`, authorId: userId(writer), published: true, views: 1 } });
  const { wrapper } = harness(reader);
  const args = { where: { published: true, title: { startsWith: tag } }, orderBy: { views: 'desc' } } as const;
  const rendered: string[][] = [];
  const { result } = renderHook(
    () => {
      const query = useFindMany<Schema, 'Post'>('Post', args);
      rendered.push((query.data ?? []).map((p) => p.title));
      return query;
    },
    { wrapper },
  );
  await waitFor(() => assert.deepEqual(result.current.data?.map((p) => p.id), [first.id]), until);

  const second = await posts.create({ data: { title: `${tag} b`, authorId: userId(writer), published: true, views: 5 } });
  await waitFor(() => assert.deepEqual(result.current.data?.map((p) => p.id), [second.id, first.id]), until);
  await posts.update({ where: { id: first.id }, data: { views: 9, title: `${tag} a2` } });
  await waitFor(() => assert.deepEqual(result.current.data?.map((p) => p.title), [`${tag} a2`, `${tag} b`]), until);
  await posts.delete({ where: { id: second.id } });
  await waitFor(() => assert.deepEqual(result.current.data?.map((p) => p.id), [first.id]), until);
  assert.deepEqual(result.current.data, await posts.findMany(args));
  assert.ok(rendered.some((titles) => titles.join() === `${tag} b,${tag} a`), 'a render showed the created row in its place');
});

test('useFindUnique follows its record live, and shows null once it is deleted', async () => {
  const writer = await userClient(server.url, { transport: 'http' });
  const reader = await userClient(server.url, { transport: 'ws' });
  const post = await writer.$model('Post').create({ data: { title: 'unique before', authorId: userId(writer), published: true } });
  const { wrapper } = harness(reader);
  const { result } = renderHook(() => useFindUnique<Schema, 'Post'>('Post', { where: { id: post.id } }), { wrapper });
  await waitFor(() => assert.equal(result.current.data?.title, 'unique before'), until);
  await writer.$model('Post').update({ where: { id: post.id }, data: { title: 'unique after' } });
  await waitFor(() => assert.equal(result.current.data?.title, 'unique after'), until);
  await writer.$model('Post').delete({ where: { id: post.id } });
  await waitFor(() => assert.equal(result.current.data, null), until);
});

test('a subscription the server refuses falls back to a plain read (and is reported)', async () => {
  const reader = await userClient(server.url, { transport: 'ws' });
  const email = (reader.auth.session!.user as { email: string }).email;
  const { wrapper, liveErrors } = harness(reader);
  // `User` has no @@realtime: its subscription is refused with `not_subscribable`.
  const { result } = renderHook(() => useFindUnique<Schema, 'User'>('User', { where: { email } }), { wrapper });
  await waitFor(() => assert.equal(result.current.data?.email, email), until);
  assert.equal(result.current.isError, false);
  assert.deepEqual(liveErrors.map((e) => [e.error.code, e.queryKey[1]]), [['not_subscribable', 'User']]);
});

test('useCount counts, and a write through useCreate refetches it', async () => {
  const c = await userClient(server.url, { transport: 'hybrid' });
  const tag = `rq-count-${Date.now()}`;
  await c.$model('Post').createMany({ data: [1, 2].map((n) => ({ title: `${tag} ${n}`, authorId: userId(c) })) });
  const { wrapper } = harness(c);
  const where = { title: { startsWith: tag } };
  const { result } = renderHook(() => ({ count: useCount<Schema, 'Post'>('Post', { where }), create: useCreate<Schema, 'Post'>('Post') }), { wrapper });
  await waitFor(() => assert.equal(result.current.count.data, 2), until);
  await act(async () => {
    await result.current.create.mutateAsync({ data: { title: `${tag} 3`, authorId: userId(c) } });
  });
  await waitFor(() => assert.equal(result.current.count.data, 3), until);
});

test('a mutation resolves once the live list shows its write, even when the socket lags behind HTTP', async () => {
  const proxy = await Proxy.start(server.port);
  try {
    const owner = await userClient(server.url, { transport: 'http' });
    // HTTP straight to the server (writes), the socket through a proxy that holds back what the server sends.
    const c = client(server.url, { transport: 'hybrid', token: owner.auth.session!.accessToken, wsUrl: `ws://127.0.0.1:${proxy.port}/api/ws` });
    const tag = `rq-settle-${Date.now()}`;
    const where = { title: { startsWith: tag } };
    const { wrapper, queryClient } = harness(c);
    const { result } = renderHook(() => ({ list: useFindMany<Schema, 'Post'>('Post', { where }), create: useCreate<Schema, 'Post'>('Post') }), { wrapper });
    await waitFor(() => assert.equal(result.current.list.data?.length, 0), until);
    proxy.delayMs = 300;
    await act(async () => {
      const created = await result.current.create.mutateAsync({ data: { title: `${tag} 1`, authorId: userId(owner) } });
      // Resolved: the live list's cache already holds the row (the mutation waited for its seq).
      const stored = queryClient.getQueryData<SsotQueryData<Post[]>>(ssotQueryKey('Post', 'findMany', { where }));
      assert.deepEqual(stored?.data.map((p) => p.id), [created.id], 'the live list shows the write when the mutation resolves');
      assert.ok(stored!.seq >= seqOf(created)!);
    });
    await waitFor(() => assert.equal(result.current.list.data?.length, 1), until);
  } finally {
    await proxy.close();
  }
});

test('useSuspenseFindMany suspends until the first rows, then follows them live', async () => {
  const writer = await userClient(server.url, { transport: 'http' });
  const reader = await userClient(server.url, { transport: 'ws' });
  const tag = `rq-suspense-${Date.now()}`;
  await writer.$model('Post').create({ data: { title: `${tag} 1`, authorId: userId(writer), published: true } });
  const { wrapper } = harness(reader);
  function List(): ReturnType<typeof h> {
    const { data } = useSuspenseFindMany<Schema, 'Post'>('Post', { where: { title: { startsWith: tag } }, orderBy: { id: 'asc' } });
    return h('ul', null, ...data.map((p) => h('li', { key: p.id }, p.title)));
  }
  render(h(Suspense, { fallback: h('p', null, 'loading') }, h(List)), { wrapper });
  assert.ok(screen.getByText('loading'));
  await screen.findByText(`${tag} 1`, undefined, until);
  await writer.$model('Post').create({ data: { title: `${tag} 2`, authorId: userId(writer), published: true } });
  await screen.findByText(`${tag} 2`, undefined, until);
});

test('live: false reads once and subscribes to nothing', async () => {
  const { WebSocket, wire } = recordingWebSocket();
  const writer = await userClient(server.url, { transport: 'http' });
  const reader = client(server.url, { transport: 'ws', token: writer.auth.session!.accessToken, WebSocket });
  const tag = `rq-static-${Date.now()}`;
  await writer.$model('Post').create({ data: { title: `${tag} 1`, authorId: userId(writer) } });
  const { wrapper } = harness(reader);
  const { result } = renderHook(() => useFindMany<Schema, 'Post'>('Post', { where: { title: { startsWith: tag } } }, { live: false }), { wrapper });
  await waitFor(() => assert.equal(result.current.data?.length, 1), until);
  assert.deepEqual(wire.sent.filter((m) => m.type === 'subscribe'), []);
  assert.ok(wire.sent.some((m) => m.type === 'request' && m.action === 'list'), 'read over the socket');
});

test('unmounting the last component of a live list ends its subscription: the server stops sending', async () => {
  const { WebSocket, wire } = recordingWebSocket();
  const writer = await userClient(server.url, { transport: 'http' });
  const reader = client(server.url, { transport: 'ws', token: writer.auth.session!.accessToken, WebSocket });
  const tag = `rq-unmount-${Date.now()}`;
  const args = { where: { title: { startsWith: tag } } };
  const { wrapper } = harness(reader, { lingerMs: 50 });
  // Two components show the list: one subscription, ended when both are gone.
  const first = renderHook(() => useFindMany<Schema, 'Post'>('Post', args), { wrapper });
  const second = renderHook(() => useFindMany<Schema, 'Post'>('Post', args), { wrapper });
  await waitFor(() => assert.equal(second.result.current.data?.length, 0), until);
  const subscribes = wire.sent.filter((m) => m.type === 'subscribe' && m.channel === 'Post:list');
  assert.equal(subscribes.length, 1, 'one subscription for the two components');
  const id = subscribes[0]!.id;
  const one = await writer.$model('Post').create({ data: { title: `${tag} 1`, authorId: userId(writer) } });
  await waitFor(() => assert.equal(first.result.current.data?.length, 1), until);
  first.unmount();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(wire.sent.filter((m) => m.type === 'unsubscribe').length, 0, 'still shown by the other component');
  second.unmount();
  await waitFor(() => assert.ok(wire.received.some((m) => m.type === 'unsubscribed' && m.id === id)), until);
  const after = wire.received.length;

  // A write the ended subscription would have carried; another live query on the connection shows when it is done.
  const watcher = reader.$model('Post').subscribe(args);
  await watcher.ready;
  const two = await writer.$model('Post').create({ data: { title: `${tag} 2`, authorId: userId(writer) } });
  await watcher.waitForSeq(seqOf(two)!);
  assert.deepEqual(watcher.value.map((p) => p.id), [one.id, two.id]);
  const later = wire.received.slice(after).filter((m) => m.type === 'update');
  assert.ok(later.length > 0, 'the watcher had its update');
  const events = later.flatMap((m) => m.events as Array<{ sub: string }>);
  assert.deepEqual(events.filter((e) => e.sub === id), [], 'nothing for the ended subscription');
});
