/**
 * The React adapter's vocabulary: its query keys (one deterministic key per model, operation and arguments, so
 * that a server that prefetches and the browser that renders agree), the shape of what it stores in TanStack
 * Query's cache (the result with the change-log `seq` it stands at), and the schema type hooks fall back to
 * (`Register`).
 */
import type { SchemaTypes, UntypedSchema } from '../index.js';

/** The reads the hooks cache. */
export type SsotOperation = 'findMany' | 'findUnique' | 'count' | 'search';

/**
 * A query's key: `['ssot', model, operation, args]`, e.g. `['ssot', 'Post', 'findMany', { where: { published:
 * true }, take: 20 }]`. TanStack Query hashes keys with object keys sorted, so arguments equal as JSON are one
 * query however they were written. `['ssot', model]` is the prefix of every query of a model.
 */
export type SsotQueryKey = readonly ['ssot', string, SsotOperation, object];

/** The key of a read: what the hooks and the `prefetch*` helpers use, and what `invalidateQueries` can name. */
export function ssotQueryKey(model: string, operation: SsotOperation, args?: object): SsotQueryKey {
  return ['ssot', model, operation, args ?? {}];
}

/** The prefix of every query of `model` (`queryClient.invalidateQueries({ queryKey: ssotModelKey('Post') })`). */
export function ssotModelKey(model: string): readonly ['ssot', string] {
  return ['ssot', model];
}

/**
 * What a query holds in TanStack Query's cache (and what `dehydrate` carries from a server): the result and the
 * change-log `seq` it stands at (a list's `meta.seq`; -1 when unknown, as for a count). A live query started on
 * this data resumes from `seq`. Hooks hand the application `data` alone.
 */
export interface SsotQueryData<Value> {
  data: Value;
  seq: number;
}

/**
 * Declares the schema the hooks use when no type argument names one:
 * `declare module '@ssot/client/react' { interface Register { schema: $Schema } }`. Generated hooks pass it
 * explicitly instead (`useFindMany<$Schema, 'Post'>('Post', args)`).
 */
export interface Register {}

/** The registered schema, or the untyped one. */
export type RegisteredSchema = Register extends { schema: infer S extends SchemaTypes } ? S : UntypedSchema;
