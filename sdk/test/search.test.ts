// @vitest-environment jsdom
/**
 * Full-text search from the SDK against a real server: the generated client's typed `search` over both
 * transports (only rows the caller may read, best match first, the last word as a prefix, highlights), a typed
 * `$batch` search, and the React adapter's `useSearch`, refetched after this client's write through a mutation
 * hook. Models without `@@search` have no `search` that compiles.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { renderHook, waitFor } from '@testing-library/react';
import { afterAll, test } from 'vitest';
import { createClient, type $Client } from './generated/ssot.js';
import { useCreate, useSearch } from '../src/react/index.js';
import { fileServer, userClient, userId, type Schema } from './helpers.js';
import { harness } from './react-helpers.js';

const server = fileServer();
const until = { timeout: 10_000 };
const generatedClients: $Client[] = [];
afterAll(() => {
  for (const c of generatedClients.splice(0)) c.$disconnect();
});

let signups = 0;
async function signedIn(transport: 'http' | 'ws'): Promise<{ c: $Client; id: string }> {
  const c = createClient({ url: server.url, WebSocket, timeoutMs: 10_000, transport });
  generatedClients.push(c);
  signups += 1;
  const session = await c.auth.signup({ email: `search${signups}-${Date.now()}@example.com`, password: 'correct horse battery' });
  return { c, id: (session.user as { id: string }).id };
}

for (const transport of ['http', 'ws'] as const) {
  test(`the generated client's search over ${transport}: readable rows only, ranked, prefixes, highlights`, async () => {
    const writer = await signedIn(transport);
    const reader = await signedIn(transport);
    // A word of its own, so that this test's rows are the only ones it finds.
    const tag = `z${transport}${Date.now()}`;
    await writer.c.post.create({ data: { title: `${tag} rust rust guide`, authorId: writer.id, published: true } });
    await writer.c.post.create({ data: { title: `${tag} rust tips for <b>beginners</b>`, authorId: writer.id, published: true } });
    await writer.c.post.create({ data: { title: `${tag} rust secret draft`, authorId: writer.id, published: false } });

    const page = await reader.c.post.search({ search: `${tag} rust`, highlight: true, select: { id: true, title: true } });
    assert.equal(page.meta.total, 2, 'the draft is not counted for a reader who may not see it');
    assert.deepEqual(page.data.map((p) => p.title).sort(), [`${tag} rust rust guide`, `${tag} rust tips for <b>beginners</b>`]);
    const highlights = page.meta.highlights ?? [];
    assert.equal(highlights.length, 2, 'one highlight object per row');
    for (const [i, row] of page.data.entries()) {
      const snippet = highlights[i]?.title ?? '';
      assert.match(snippet, /<mark>rust<\/mark>/i, 'the matched word is marked');
      assert.ok(!snippet.includes('<b>'), `snippets are HTML-escaped: ${snippet} (of ${row.title})`);
    }

    const own = await writer.c.post.search({ search: `${tag} secr` });
    assert.deepEqual(own.data.map((p) => p.published), [false], 'its author finds the draft, the last word as a prefix');
    const excluded = await reader.c.post.search({ search: `${tag} rust -guide` });
    assert.deepEqual(excluded.data.map((p) => p.title), [`${tag} rust tips for <b>beginners</b>`]);

    const [found, count] = await reader.c.$batch([
      reader.c.post.op.search({ search: `${tag} guide`, select: { title: true } }),
      reader.c.post.op.count({ where: { title: { startsWith: tag } } }),
    ]);
    assert.deepEqual(found.data, [{ title: `${tag} rust rust guide` }]);
    assert.equal(count.count, 2);

    // Types: a model without @@search has no search to call, and a search needs its words.
    // @ts-expect-error Room has no @@search
    await reader.c.room.search({ search: 'x' }).catch(() => undefined);
    // @ts-expect-error `search` is required
    await reader.c.post.search({ take: 1 }).catch(() => undefined);
  });
}

test('useSearch renders the matches, and searches again after this client creates a match', async () => {
  const user = await userClient(server.url, { transport: 'ws' });
  const tag = `zhook${Date.now()}`;
  await user.$model('Post').create({ data: { title: `${tag} first`, authorId: userId(user), published: true } });
  const { wrapper } = harness(user);
  const { result } = renderHook(
    () => ({ search: useSearch<Schema, 'Post'>('Post', { search: tag, orderBy: { id: 'asc' } }), create: useCreate<Schema, 'Post'>('Post') }),
    { wrapper },
  );
  await waitFor(() => assert.deepEqual(result.current.search.data?.data.map((p) => p.title), [`${tag} first`]), until);
  await result.current.create.mutateAsync({ data: { title: `${tag} second`, authorId: userId(user), published: true } });
  await waitFor(() => assert.deepEqual(result.current.search.data?.data.map((p) => p.title), [`${tag} first`, `${tag} second`]), until);
  assert.equal(result.current.search.data?.meta.total, 2);
});
