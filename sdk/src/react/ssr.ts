/**
 * Server rendering: `prefetchFindMany`, `prefetchFindUnique`, `prefetchCount` and `prefetchSearch` read on the server (with a
 * client of its own, as the user the page is for) and store the result with its change-log `seq` under the key
 * the hooks use; `dehydrate(queryClient)` then carries it to the browser, where `<HydrationBoundary>` and the
 * same hook show it at once and the hook's live subscription resumes from that `seq` (`since`), so that a change
 * committed between the server's read and the browser's subscription is not lost. The `*QueryOptions` helpers
 * give the same key and read for `queryClient.fetchQuery`, `ensureQueryData` or a router's loader.
 */
import type { FetchQueryOptions, QueryClient } from '@tanstack/react-query';
import type { ListArgs, Obj, RowOf, SchemaTypes, SearchArgs, SearchPage, SsotClient, UniqueArgs } from '../index.js';
import type { SsotQueryData, SsotQueryKey } from './keys.js';
import type { CountArgs } from './queries.js';
import { countSpec, findManySpec, findUniqueSpec, searchSpec, type AnyClient } from './specs.js';

/** The options of one plain read of the adapter: its key and a `queryFn` storing `{ data, seq }`. */
export type SsotFetchOptions<Value> = FetchQueryOptions<SsotQueryData<Value>, Error, SsotQueryData<Value>, SsotQueryKey> & {
  queryKey: SsotQueryKey;
};

function optionsOf<Value>(spec: { key: SsotQueryKey; read: () => Promise<SsotQueryData<unknown>> }): SsotFetchOptions<Value> {
  return { queryKey: spec.key, queryFn: spec.read as () => Promise<SsotQueryData<Value>> };
}

export function findManyQueryOptions<S extends SchemaTypes, K extends keyof S & string>(
  client: SsotClient<S>,
  model: K,
  args: ListArgs<S[K]> = {},
): SsotFetchOptions<Array<RowOf<S[K]>>> {
  return optionsOf(findManySpec(client as unknown as AnyClient, model, args as unknown as Obj));
}

export function findUniqueQueryOptions<S extends SchemaTypes, K extends keyof S & string>(
  client: SsotClient<S>,
  model: K,
  args: UniqueArgs<S[K]>,
): SsotFetchOptions<RowOf<S[K]> | null> {
  return optionsOf(findUniqueSpec(client as unknown as AnyClient, model, args as unknown as Obj));
}

export function countQueryOptions<S extends SchemaTypes, K extends keyof S & string>(
  client: SsotClient<S>,
  model: K,
  args: CountArgs<S, K> = {},
): SsotFetchOptions<number> {
  return optionsOf(countSpec(client as unknown as AnyClient, model, args as unknown as Obj));
}

export function searchQueryOptions<S extends SchemaTypes, K extends keyof S & string>(
  client: SsotClient<S>,
  model: K,
  args: SearchArgs<S[K]>,
): SsotFetchOptions<SearchPage<RowOf<S[K]>>> {
  return optionsOf(searchSpec(client as unknown as AnyClient, model, args as unknown as Obj));
}

/** Reads a list into `queryClient` (with its `meta.seq`), for `dehydrate`. Errors are not thrown (TanStack's `prefetchQuery`). */
export function prefetchFindMany<S extends SchemaTypes, K extends keyof S & string>(
  queryClient: QueryClient,
  client: SsotClient<S>,
  model: K,
  args: ListArgs<S[K]> = {},
): Promise<void> {
  return queryClient.prefetchQuery(findManyQueryOptions(client, model, args));
}

/** Reads one record (or null) into `queryClient`, with the `seq` it was read at. */
export function prefetchFindUnique<S extends SchemaTypes, K extends keyof S & string>(
  queryClient: QueryClient,
  client: SsotClient<S>,
  model: K,
  args: UniqueArgs<S[K]>,
): Promise<void> {
  return queryClient.prefetchQuery(findUniqueQueryOptions(client, model, args));
}

/** Reads a count into `queryClient`. */
export function prefetchCount<S extends SchemaTypes, K extends keyof S & string>(
  queryClient: QueryClient,
  client: SsotClient<S>,
  model: K,
  args: CountArgs<S, K> = {},
): Promise<void> {
  return queryClient.prefetchQuery(countQueryOptions(client, model, args));
}

/** Reads a search's page into `queryClient` (a server-rendered results page). */
export function prefetchSearch<S extends SchemaTypes, K extends keyof S & string>(
  queryClient: QueryClient,
  client: SsotClient<S>,
  model: K,
  args: SearchArgs<S[K]>,
): Promise<void> {
  return queryClient.prefetchQuery(searchQueryOptions(client, model, args));
}
