/**
 * The React adapter's types, checked by the compiler (`npm test` type-checks before it runs): results typed by
 * the schema's rows, arguments by its inputs, unknown models and fields refused, the registered schema used when
 * no type argument names one, and the one-line wrappers the generator will write compiling as they are. Nothing
 * here renders: the functions below are compiled, never called.
 */
import { expectTypeOf, test } from 'vitest';
import type { UseMutationResult, UseQueryResult } from '@tanstack/react-query';
import type { CreateArgs, ListArgs, UniqueArgs, UpdateArgs } from '../src/index.js';
import {
  useCount,
  useCreate,
  useFindMany,
  useFindUnique,
  useSsotClient,
  useSuspenseFindMany,
  useUpdate,
  type SsotQueryOptions,
} from '../src/react/index.js';
import type { Post, Schema } from './helpers.js';

// The schema hooks use when no type argument names one (a generated client declares its own).
declare module '../src/react/index.js' {
  interface Register {
    schema: Schema;
  }
}

// What `ssot generate` will write per model: one-line wrappers of the generic hooks.
const usePosts = (args?: ListArgs<Schema['Post']>, options?: SsotQueryOptions<Post[]>) => useFindMany<Schema, 'Post'>('Post', args, options);
const usePost = (args: UniqueArgs<Schema['Post']>) => useFindUnique<Schema, 'Post'>('Post', args);
const useCreatePost = () => useCreate<Schema, 'Post'>('Post');

export function typed(): void {
  expectTypeOf(usePosts({ where: { published: true } })).toEqualTypeOf<UseQueryResult<Post[], Error>>();
  expectTypeOf(usePost({ where: { id: 1 } }).data).toEqualTypeOf<Post | null | undefined>();
  expectTypeOf(useCreatePost()).toEqualTypeOf<UseMutationResult<Post, Error, CreateArgs<Schema['Post']>>>();
  expectTypeOf(useSuspenseFindMany<Schema, 'Post'>('Post').data).toEqualTypeOf<Post[]>();
  expectTypeOf(useCount<Schema, 'Post'>('Post', { where: { published: true } }).data).toEqualTypeOf<number | undefined>();
  expectTypeOf(useUpdate<Schema, 'Post'>('Post', { optimistic: (row) => ({ views: row.views + 1 }) }).mutate).parameter(0).toEqualTypeOf<UpdateArgs<Schema['Post']>>();

  // The registered schema: no type arguments, still typed.
  expectTypeOf(useFindMany('Post').data).toEqualTypeOf<Post[] | undefined>();
  expectTypeOf(useFindUnique('Room', { where: { id: 1 } }).data).toEqualTypeOf<{ id: number; name: string } | null | undefined>();
  expectTypeOf(useSsotClient().$model('Post').findMany).returns.resolves.toEqualTypeOf<Post[]>();

  // @ts-expect-error: no such model
  useFindMany('Pst');
  // @ts-expect-error: no such field in Post's where
  useFindMany<Schema, 'Post'>('Post', { where: { titel: 'x' } });
  // @ts-expect-error: a create needs its data
  useCreatePost().mutate({});
}

test('the hooks are typed by the schema (checked by tsc; nothing to run)', () => {
  expectTypeOf(typed).toBeFunction();
});
