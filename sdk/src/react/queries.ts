/**
 * The read hooks: `useFindMany`, `useFindUnique`, `useCount` (TanStack's `useQuery`) and their Suspense forms
 * (`useSuspenseQuery`). Generic over a model name, typed by the schema (`S`, the registered one by default).
 * Owns turning a read into query options (key, `queryFn`, `select` of the data out of `{ data, seq }`) and, while
 * a component shows a live read, holding its subscription through the bridge.
 */
import { useEffect, useMemo } from 'react';
import {
  hashKey,
  useQuery,
  useSuspenseQuery,
  type DefaultError,
  type UseQueryOptions,
  type UseQueryResult,
  type UseSuspenseQueryOptions,
  type UseSuspenseQueryResult,
} from '@tanstack/react-query';
import type { ListArgs, Obj, Result, SchemaTypes, SearchArgs, SearchPage, Subset, UniqueArgs } from '../index.js';
import type { LiveBridge } from './bridge.js';
import type { RegisteredSchema, SsotQueryData, SsotQueryKey } from './keys.js';
import { useBridge } from './provider.js';
import { countSpec, findManySpec, findUniqueSpec, searchSpec, type AnyClient, type ReadSpec } from './specs.js';

/** What the read hooks take besides TanStack's own query options. */
export interface LiveOption {
  /** Follow the read over the socket (default: the provider's `live`, in a browser yes). `false`: read once, refetch as TanStack says. */
  live?: boolean;
}

/** `useQuery`'s options, less those the hook sets (`queryKey`, `queryFn`, `select`), plus `live`. */
export type SsotQueryOptions<Value> = Omit<UseQueryOptions<SsotQueryData<Value>, DefaultError, Value, SsotQueryKey>, 'queryKey' | 'queryFn' | 'select' | 'enabled'> &
  LiveOption & { enabled?: boolean };

/** `useSuspenseQuery`'s options, less those the hook sets, plus `live`. */
export type SsotSuspenseQueryOptions<Value> = Omit<UseSuspenseQueryOptions<SsotQueryData<Value>, DefaultError, Value, SsotQueryKey>, 'queryKey' | 'queryFn' | 'select'> & LiveOption;

/** The `where` of a count. */
export type CountArgs<S extends SchemaTypes, K extends keyof S & string> = Pick<ListArgs<S[K]>, 'where'>;

/** Takes the data out of what the cache holds; one function, so TanStack keeps the selection between renders. */
function pickData<Value>(stored: SsotQueryData<Value>): Value {
  return stored.data;
}

type SpecOf = (client: AnyClient, model: string, args: Obj) => ReadSpec<unknown>;

/**
 * The key and `queryFn` of a read, and (while `hold` and the read is live) its subscription held by this
 * component. `args` are compared by their hash: an inline object each render is the same read.
 */
function useRead(bridge: LiveBridge, specOf: SpecOf, model: string, args: object, liveOption: boolean | undefined, hold: boolean) {
  const spec = specOf(bridge.client, model, args as Obj);
  const hash = hashKey(spec.key);
  // The spec of this hash: its closures are the same read whatever the render that made them.
  const stable = useMemo(() => spec, [bridge, hash]);
  const liveSpec = (liveOption ?? bridge.options.live) ? stable.live : undefined;
  useEffect(() => {
    if (!liveSpec || !hold) return undefined;
    return bridge.hold(stable, liveSpec);
  }, [bridge, stable, liveSpec, hold]);
  const queryFn = (): Promise<SsotQueryData<unknown>> => (liveSpec ? bridge.fetch(stable, liveSpec) : bridge.read(stable));
  return { queryKey: stable.key, queryFn };
}

/**
 * One read hook's body: the read's key and `queryFn` (held live while enabled, when `followLive`), TanStack's
 * `useQuery` over them, and the data taken out of `{ data, seq }`.
 */
function useSsotQuery<Value>(specOf: SpecOf, model: string, args: object, options: SsotQueryOptions<Value>, followLive: boolean): UseQueryResult<Value, DefaultError> {
  const { live, enabled, ...rest } = options;
  const bridge = useBridge();
  const on = enabled !== false;
  const read = useRead(bridge, specOf, model, args, followLive ? live : false, followLive && on);
  return useQuery(
    { ...rest, enabled: on, queryKey: read.queryKey, queryFn: read.queryFn as () => Promise<SsotQueryData<Value>>, select: pickData<Value> },
    bridge.queryClient,
  );
}

/** [`useSsotQuery`] for Suspense (always enabled). */
function useSsotSuspenseQuery<Value>(specOf: SpecOf, model: string, args: object, options: SsotSuspenseQueryOptions<Value>, followLive: boolean): UseSuspenseQueryResult<Value, DefaultError> {
  const { live, ...rest } = options;
  const bridge = useBridge();
  const read = useRead(bridge, specOf, model, args, followLive ? live : false, followLive);
  return useSuspenseQuery(
    { ...rest, queryKey: read.queryKey, queryFn: read.queryFn as () => Promise<SsotQueryData<Value>>, select: pickData<Value> },
    bridge.queryClient,
  );
}

/**
 * A list (`findMany`), live by default: it renders the rows, then every change the server sends. Its key is
 * `['ssot', model, 'findMany', args]`.
 */
export function useFindMany<
  S extends SchemaTypes = RegisteredSchema,
  K extends keyof S & string = keyof S & string,
  A extends ListArgs<S[K]> = ListArgs<S[K]>,
>(
  model: K,
  args: Subset<A, ListArgs<S[K]>> = {} as Subset<A, ListArgs<S[K]>>,
  options: SsotQueryOptions<Array<Result<S, S[K], A>>> = {},
): UseQueryResult<Array<Result<S, S[K], A>>, DefaultError> {
  return useSsotQuery(findManySpec, model, args, options, true);
}

/**
 * One record (`findUnique`), or null; live by default (by id an item subscription, by another unique a one-row
 * list). Its key is `['ssot', model, 'findUnique', args]`.
 */
export function useFindUnique<
  S extends SchemaTypes = RegisteredSchema,
  K extends keyof S & string = keyof S & string,
  A extends UniqueArgs<S[K]> = UniqueArgs<S[K]>,
>(
  model: K,
  args: Subset<A, UniqueArgs<S[K]>>,
  options: SsotQueryOptions<Result<S, S[K], A> | null> = {},
): UseQueryResult<Result<S, S[K], A> | null, DefaultError> {
  return useSsotQuery(findUniqueSpec, model, args, options, true);
}

/**
 * A count. Not live (the protocol has no live count): refetched after this client's writes to the model through
 * the mutation hooks, and as TanStack's options say (`refetchInterval`, focus). Key `['ssot', model, 'count', { where }]`.
 */
export function useCount<S extends SchemaTypes = RegisteredSchema, K extends keyof S & string = keyof S & string>(
  model: K,
  args: CountArgs<S, K> = {},
  options: Omit<SsotQueryOptions<number>, 'live'> = {},
): UseQueryResult<number, DefaultError> {
  return useSsotQuery(countSpec, model, args, options, false);
}

/**
 * A full-text search (a model with `@@search`): the page of best matches the caller may read, with
 * `meta.total` and (with `highlight: true`) `meta.highlights`. Not live: refetched after this client's writes to
 * the model through the mutation hooks, and as TanStack's options say. While the user types, pass
 * `placeholderData: keepPreviousData` to keep showing the last answer. Key `['ssot', model, 'search', args]`.
 */
export function useSearch<
  S extends SchemaTypes = RegisteredSchema,
  K extends keyof S & string = keyof S & string,
  A extends SearchArgs<S[K]> = SearchArgs<S[K]>,
>(
  model: K,
  args: Subset<A, SearchArgs<S[K]>>,
  options: Omit<SsotQueryOptions<SearchPage<Result<S, S[K], A>>>, 'live'> = {},
): UseQueryResult<SearchPage<Result<S, S[K], A>>, DefaultError> {
  return useSsotQuery(searchSpec, model, args as object, options, false);
}

/** `useFindMany` for Suspense: suspends until the first rows (the subscription's snapshot), then live. */
export function useSuspenseFindMany<
  S extends SchemaTypes = RegisteredSchema,
  K extends keyof S & string = keyof S & string,
  A extends ListArgs<S[K]> = ListArgs<S[K]>,
>(
  model: K,
  args: Subset<A, ListArgs<S[K]>> = {} as Subset<A, ListArgs<S[K]>>,
  options: SsotSuspenseQueryOptions<Array<Result<S, S[K], A>>> = {},
): UseSuspenseQueryResult<Array<Result<S, S[K], A>>, DefaultError> {
  return useSsotSuspenseQuery(findManySpec, model, args, options, true);
}

/** `useFindUnique` for Suspense. */
export function useSuspenseFindUnique<
  S extends SchemaTypes = RegisteredSchema,
  K extends keyof S & string = keyof S & string,
  A extends UniqueArgs<S[K]> = UniqueArgs<S[K]>,
>(
  model: K,
  args: Subset<A, UniqueArgs<S[K]>>,
  options: SsotSuspenseQueryOptions<Result<S, S[K], A> | null> = {},
): UseSuspenseQueryResult<Result<S, S[K], A> | null, DefaultError> {
  return useSsotSuspenseQuery(findUniqueSpec, model, args, options, true);
}

/** `useCount` for Suspense. */
export function useSuspenseCount<S extends SchemaTypes = RegisteredSchema, K extends keyof S & string = keyof S & string>(
  model: K,
  args: CountArgs<S, K> = {},
  options: Omit<SsotSuspenseQueryOptions<number>, 'live'> = {},
): UseSuspenseQueryResult<number, DefaultError> {
  return useSsotSuspenseQuery(countSpec, model, args, options, false);
}
