// @vitest-environment jsdom
/**
 * Server rendering and hydration against a real server. "The server" (a client of its own, over HTTP, as the
 * user the page is for) prefetches a list, renders it to HTML and dehydrates its query client; another client
 * then writes; "the browser" hydrates that HTML with `HydrationBoundary` and the same hook. The first render
 * shows the server's rows (no loading state, markup that hydrates without a mismatch), the live subscription is
 * sent with `since` = the prefetched page's `seq`, and the list then shows the write made in between. The same
 * for one record (`prefetchFindUnique`). The list's browser keeps hydrated data fresh for a minute (no refetch on
 * mount: only the subscription brings the news); the record's refetches on mount (TanStack's default).
 */
import assert from 'node:assert/strict';
import { createElement as h, type ReactNode } from 'react';
import { renderToString } from 'react-dom/server';
import { HydrationBoundary, QueryClient, QueryClientProvider, dehydrate, type DehydratedState } from '@tanstack/react-query';
import { render, renderHook, screen, waitFor } from '@testing-library/react';
import { test } from 'vitest';
import type { SsotClient } from '../src/index.js';
import { SsotProvider, prefetchFindMany, prefetchFindUnique, ssotQueryKey, useFindMany, useFindUnique, type SsotQueryData } from '../src/react/index.js';
import { client, recordingWebSocket, userClient, userId, type Post, type Schema, fileServer } from './helpers.js';
import { Server } from './server.js';

const server = fileServer();

const until = { timeout: 10_000 };

function tree(queryClient: QueryClient, ssot: SsotClient<Schema>, live: boolean, children: ReactNode, state?: DehydratedState): ReactNode {
  const inner = state ? h(HydrationBoundary, { state }, children) : children;
  return h(QueryClientProvider, { client: queryClient }, h(SsotProvider<Schema>, { client: ssot, live }, inner));
}

test('SSR: prefetch and dehydrate, a write in between, then hydrate: the server\'s rows at once, then the write', async () => {
  const writer = await userClient(server.url, { transport: 'http' });
  const token = writer.auth.session!.accessToken;
  const tag = `ssr-${Date.now()}`;
  const posts = writer.$model('Post');
  const first = await posts.create({ data: { title: `${tag} first`, authorId: userId(writer) } });
  await posts.create({ data: { title: `${tag} second`, authorId: userId(writer) } });
  const args = { where: { title: { startsWith: tag } }, orderBy: { id: 'asc' } } as const;
  const renders: Array<{ pending: boolean; titles: string[] }> = [];
  function List(): ReactNode {
    const query = useFindMany<Schema, 'Post'>('Post', args);
    renders.push({ pending: query.isPending, titles: (query.data ?? []).map((p) => p.title) });
    if (!query.data) return h('p', null, 'loading');
    return h('ul', null, ...query.data.map((p) => h('li', { key: p.id }, p.title)));
  }

  // The server: its own client and query client; it reads, renders and dehydrates (it never subscribes: live is
  // off, as it is by default where there is no `window`).
  const onServer = client(server.url, { transport: 'http', token });
  const serverQueries = new QueryClient();
  await prefetchFindMany(serverQueries, onServer, 'Post', args);
  const html = renderToString(tree(serverQueries, onServer, false, h(List)));
  const wire = JSON.stringify(dehydrate(serverQueries));
  assert.match(html, new RegExp(`${tag} first.*${tag} second`));
  const prefetched = serverQueries.getQueryData<SsotQueryData<Post[]>>(ssotQueryKey('Post', 'findMany', args))!;
  assert.ok(prefetched.seq > 0, 'the page is stored with its seq');
  renders.length = 0;

  // In between: another client writes (after the dehydrate, before the browser subscribes).
  const between = await posts.create({ data: { title: `${tag} third`, authorId: userId(writer) } });
  await posts.update({ where: { id: first.id }, data: { title: `${tag} first, renamed` } });

  // The browser: hydrates the server's HTML with the dehydrated state.
  const recording = recordingWebSocket();
  const inBrowser = client(server.url, { transport: 'hybrid', token, WebSocket: recording.WebSocket });
  const container = document.body.appendChild(document.createElement('div'));
  container.innerHTML = html;
  const mismatches: unknown[] = [];
  // A stale time, as TanStack advises with SSR: no refetch on mount, so only the live subscription brings news.
  const browserQueries = new QueryClient({ defaultOptions: { queries: { staleTime: 60_000 } } });
  render(tree(browserQueries, inBrowser, true, h(List), JSON.parse(wire) as DehydratedState), {
    container,
    hydrate: true,
    onRecoverableError: (error) => mismatches.push(error),
  });
  assert.deepEqual(renders[0], { pending: false, titles: [`${tag} first`, `${tag} second`] }, 'the first render shows the hydrated rows');
  assert.ok(renders.every((r) => !r.pending), 'never a loading state');
  await screen.findByText(`${tag} third`, undefined, until);
  await screen.findByText(`${tag} first, renamed`, undefined, until);
  assert.deepEqual(mismatches, [], 'the markup hydrated as rendered');
  const subscribe = recording.wire.sent.find((m) => m.type === 'subscribe' && m.channel === 'Post:list');
  assert.equal(subscribe?.since, prefetched.seq, 'the subscription resumed from the hydrated seq');
  assert.deepEqual(renders.at(-1)?.titles, (await posts.findMany(args)).map((p) => p.title));
  assert.ok(renders.at(-1)!.titles.includes(between.title));
});

test('SSR of one record: prefetchFindUnique, a change in between, then the hydrated hook shows it', async () => {
  const writer = await userClient(server.url, { transport: 'http' });
  const token = writer.auth.session!.accessToken;
  const post = await writer.$model('Post').create({ data: { title: 'record as rendered', authorId: userId(writer) } });
  const onServer = client(server.url, { transport: 'http', token });
  const serverQueries = new QueryClient();
  await prefetchFindUnique(serverQueries, onServer, 'Post', { where: { id: post.id } });
  const state = JSON.parse(JSON.stringify(dehydrate(serverQueries))) as DehydratedState;
  const seq = serverQueries.getQueryData<SsotQueryData<Post | null>>(ssotQueryKey('Post', 'findUnique', { where: { id: post.id } }))!.seq;
  await writer.$model('Post').update({ where: { id: post.id }, data: { title: 'record changed in between' } });

  const recording = recordingWebSocket();
  const inBrowser = client(server.url, { transport: 'ws', token, WebSocket: recording.WebSocket });
  const seen: Array<string | undefined> = [];
  const { result } = renderHook(
    () => {
      const query = useFindUnique<Schema, 'Post'>('Post', { where: { id: post.id } });
      seen.push(query.data?.title);
      return query;
    },
    { wrapper: ({ children }: { children?: ReactNode }) => tree(new QueryClient(), inBrowser, true, children, state) },
  );
  assert.equal(seen[0], 'record as rendered');
  await waitFor(() => assert.equal(result.current.data?.title, 'record changed in between'), until);
  const subscribe = recording.wire.sent.find((m) => m.type === 'subscribe');
  assert.equal(subscribe?.channel, `Post:item:${post.id}`);
  assert.equal(subscribe?.since, seq);
});
