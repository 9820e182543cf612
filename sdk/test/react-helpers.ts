/**
 * Test helpers of the React adapter: a wrapper with a fresh `QueryClient` (no retries: a test sees an error at
 * once) and an `SsotProvider` over a client (subscriptions let go of after 100 ms rather than a second), in
 * Strict Mode (effects run twice on mount: a subscription or a channel must survive it), and a
 * log of what a query's cache entry held, every time it changed (what a component would be given, even between
 * two renders).
 */
import { StrictMode, createElement as h, type ReactNode } from 'react';
import { QueryClient, QueryClientProvider, hashKey, type QueryKey } from '@tanstack/react-query';
import type { SsotClient, SsotError } from '../src/index.js';
import { SsotProvider, type SsotQueryData } from '../src/react/index.js';
import type { Schema } from './helpers.js';

export interface Harness {
  queryClient: QueryClient;
  wrapper: (props: { children?: ReactNode }) => ReactNode;
  liveErrors: Array<{ error: SsotError; queryKey: QueryKey }>;
}

export function harness(client: SsotClient<Schema>, options: { lingerMs?: number; queryClient?: QueryClient } = {}): Harness {
  const queryClient = options.queryClient ?? new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const liveErrors: Harness['liveErrors'] = [];
  const wrapper = ({ children }: { children?: ReactNode }): ReactNode =>
    h(
      StrictMode,
      null,
      h(
        QueryClientProvider,
        { client: queryClient },
        h(SsotProvider<Schema>, { client, lingerMs: options.lingerMs ?? 100, onLiveError: (error, queryKey) => liveErrors.push({ error, queryKey }) }, children),
      ),
    );
  return { queryClient, wrapper, liveErrors };
}

/** Every value the cache entry of `key` took, in order, from now on. */
export function cacheLog<Value>(queryClient: QueryClient, key: QueryKey): { values: Value[]; stop: () => void } {
  const values: Value[] = [];
  const hash = hashKey(key);
  const stop = queryClient.getQueryCache().subscribe((event) => {
    if (event.type !== 'updated' || event.query.queryHash !== hash || event.action.type !== 'success') return;
    values.push((event.query.state.data as SsotQueryData<Value>).data);
  });
  return { values, stop };
}
