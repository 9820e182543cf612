/**
 * The write hooks: `useCreate`, `useUpdate`, `useDelete` (TanStack's `useMutation`) over a model's delegate.
 * Owns what happens around a write: the runtime's optimistic layer (shown at once by every live view of the row,
 * dropped when the server answers or refuses), and, once it commits, waiting for the model's live views to show
 * it and refetching the model's reads that nothing follows live (counts, `live: false` lists), so that a
 * mutation resolves when the screen is current.
 */
import { useMutation, type DefaultError, type UseMutationOptions, type UseMutationResult } from '@tanstack/react-query';
import { type CreateArgs, type Json, type Obj, type RowOf, type SchemaTypes, type UniqueArgs, type UntypedModel, type UpdateArgs, type WriteOptions } from '../index.js';
import type { RegisteredSchema } from './keys.js';
import { useBridge } from './provider.js';

/** `useMutation`'s options, less those the hook sets (`mutationFn`, `mutationKey`). */
export type SsotMutationOptions<Row, Args> = Omit<UseMutationOptions<Row, DefaultError, Args>, 'mutationFn' | 'mutationKey'>;

/** Options of `useUpdate`: the runtime's `optimistic` (a patch, a function of the current row, or `true`: `data`'s plain values). */
export type UpdateMutationOptions<Row, Args> = SsotMutationOptions<Row, Args> & { optimistic?: WriteOptions<Row>['optimistic'] };

/** Options of `useDelete`: `optimistic: true` hides the row at once (shown again if the server refuses). */
export type DeleteMutationOptions<Row, Args> = SsotMutationOptions<Row, Args> & { optimistic?: boolean };

/** Creates a record (`mutate({ data, select?, include? })`). Mutation key `['ssot', model, 'create']`. */
export function useCreate<S extends SchemaTypes = RegisteredSchema, K extends keyof S & string = keyof S & string>(
  model: K,
  options: SsotMutationOptions<RowOf<S[K]>, CreateArgs<S[K]>> = {},
): UseMutationResult<RowOf<S[K]>, DefaultError, CreateArgs<S[K]>> {
  const bridge = useBridge();
  return useMutation(
    {
      ...options,
      mutationKey: ['ssot', model, 'create'],
      mutationFn: async (args: CreateArgs<S[K]>) => {
        const row = await bridge.client.$model(model).create(args as unknown as CreateArgs<UntypedModel>);
        await bridge.afterWrite(model);
        return row as RowOf<S[K]>;
      },
    },
    bridge.queryClient,
  );
}

/** Updates a record by id (`mutate({ where, data })`), optimistically when `optimistic` says. Key `['ssot', model, 'update']`. */
export function useUpdate<S extends SchemaTypes = RegisteredSchema, K extends keyof S & string = keyof S & string>(
  model: K,
  options: UpdateMutationOptions<RowOf<S[K]>, UpdateArgs<S[K]>> = {},
): UseMutationResult<RowOf<S[K]>, DefaultError, UpdateArgs<S[K]>> {
  const { optimistic, ...rest } = options;
  const bridge = useBridge();
  return useMutation(
    {
      ...rest,
      mutationKey: ['ssot', model, 'update'],
      mutationFn: async (args: UpdateArgs<S[K]>) => {
        const writeOptions = optimistic === undefined ? undefined : ({ optimistic } as unknown as WriteOptions<Obj>);
        const row = await bridge.client.$model(model).update(args as unknown as UpdateArgs<UntypedModel>, writeOptions);
        await bridge.afterWrite(model);
        return row as RowOf<S[K]>;
      },
    },
    bridge.queryClient,
  );
}

/** Deletes a record by id (`mutate({ where })`), hidden at once with `optimistic: true`. Key `['ssot', model, 'delete']`. */
export function useDelete<S extends SchemaTypes = RegisteredSchema, K extends keyof S & string = keyof S & string>(
  model: K,
  options: DeleteMutationOptions<RowOf<S[K]>, UniqueArgs<S[K]>> = {},
): UseMutationResult<RowOf<S[K]>, DefaultError, UniqueArgs<S[K]>> {
  const { optimistic, ...rest } = options;
  const bridge = useBridge();
  return useMutation(
    {
      ...rest,
      mutationKey: ['ssot', model, 'delete'],
      mutationFn: async (args: UniqueArgs<S[K]>) => {
        const row = await bridge.client.$model(model).delete(args as unknown as UniqueArgs<UntypedModel>, optimistic ? { optimistic } : undefined);
        await bridge.afterWrite(model);
        return row as RowOf<S[K]>;
      },
    },
    bridge.queryClient,
  );
}

/**
 * Calls a `@@service` action (`mutate(data)`), resolving with the service's answer; refused, timed out or failed
 * calls reject with the server's `SsotError`. Nothing is refetched: an action's effects reach live reads through
 * the change log like any write. Mutation key `['ssot', '$action', name]`.
 */
export function useAction<R = Json, D = Json>(name: string, options: SsotMutationOptions<R, D> = {}): UseMutationResult<R, DefaultError, D> {
  const bridge = useBridge();
  return useMutation({ ...options, mutationKey: ['ssot', '$action', name], mutationFn: (data: D) => bridge.client.$action<R>(name, data) }, bridge.queryClient);
}
