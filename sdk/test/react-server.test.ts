/**
 * The React adapter on a server (plain Node: no `window`, no DOM): `prefetchFindMany` and `prefetchCount` store
 * `{ data, seq }` under the hooks' keys, `renderToString` renders them, a read nobody prefetched renders its
 * loading state, a Suspense read fetches plainly, and nothing subscribes: the provider's `live` defaults to off
 * where there is no `window`, and the server's client never opens a socket.
 */
import assert from 'node:assert/strict';
import { Suspense, createElement as h, type ReactNode } from 'react';
import { renderToString } from 'react-dom/server';
import { QueryClient, QueryClientProvider, dehydrate } from '@tanstack/react-query';
import { test } from 'vitest';
import { SsotProvider, prefetchCount, prefetchFindMany, ssotQueryKey, useCount, useFindMany, useSuspenseFindMany, type SsotQueryData } from '../src/react/index.js';
import { client, userClient, userId, type Post, type Schema, fileServer } from './helpers.js';

const server = fileServer();

test('on a server: prefetched reads render, others render loading, and nothing subscribes', async () => {
  assert.equal(typeof window, 'undefined', 'a plain Node environment');
  const writer = await userClient(server.url, { transport: 'http' });
  const tag = `server-${Date.now()}`;
  await writer.$model('Post').createMany({ data: [1, 2].map((n) => ({ title: `${tag} ${n}`, authorId: userId(writer) })) });
  const args = { where: { title: { startsWith: tag } }, orderBy: { id: 'asc' } } as const;
  const onServer = client(server.url, { transport: 'http', token: writer.auth.session!.accessToken });
  const queryClient = new QueryClient();
  await prefetchFindMany(queryClient, onServer, 'Post', args);
  await prefetchCount(queryClient, onServer, 'Post', { where: args.where });

  // A Suspense read runs its queryFn during the server's render: a plain read here, never a subscription.
  function Suspended(): ReactNode {
    const { data } = useSuspenseFindMany<Schema, 'Post'>('Post', { where: { title: `${tag} 1` } });
    return h('p', null, `suspended read ${data.length}`);
  }
  function Page(): ReactNode {
    const list = useFindMany<Schema, 'Post'>('Post', args);
    const count = useCount<Schema, 'Post'>('Post', { where: args.where });
    const other = useFindMany<Schema, 'Post'>('Post', { where: { title: 'never prefetched' } });
    return h(
      'main',
      null,
      h('p', null, `count ${count.data ?? '?'}`),
      h('ul', null, ...(list.data ?? []).map((p) => h('li', { key: p.id }, p.title))),
      h('p', null, other.isPending ? 'other loading' : 'other loaded'),
      h(Suspense, { fallback: h('p', null, 'suspended') }, h(Suspended)),
    );
  }
  const html = renderToString(h(QueryClientProvider, { client: queryClient }, h(SsotProvider<Schema>, { client: onServer }, h(Page))));
  assert.match(html, new RegExp(`count 2.*<li>${tag} 1</li><li>${tag} 2</li>.*other loading`));

  const stored = queryClient.getQueryData<SsotQueryData<Post[]>>(ssotQueryKey('Post', 'findMany', args))!;
  assert.ok(stored.seq > 0);
  assert.equal(queryClient.getQueryData<SsotQueryData<number>>(ssotQueryKey('Post', 'count', { where: args.where }))?.data, 2);
  const state = dehydrate(queryClient);
  assert.deepEqual(
    state.queries.map((q) => q.queryKey[2]),
    ['findMany', 'count'],
    'only what was read is carried to the browser',
  );
  assert.match(html, /suspended/);
  // The suspended read completes over HTTP.
  const suspendedKey = ssotQueryKey('Post', 'findMany', { where: { title: `${tag} 1` } });
  for (let i = 0; i < 100 && !queryClient.getQueryData(suspendedKey); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(queryClient.getQueryData<SsotQueryData<Post[]>>(suspendedKey)?.data.length, 1);
  assert.equal(onServer.$status, 'idle', 'the server\'s client never opened a socket');
});
