/**
 * What each read is, independent of React: its key, its plain read (over the client's transport, keeping the
 * `seq` the answer stands at), and how to follow it live (which subscription, and how its value maps to and from
 * the query's data). The hooks, the live bridge and the server-side `prefetch*` helpers all build reads here, so
 * that a server's prefetch and the browser's hook store the same data under the same key.
 */
import type {
  ListArgs,
  LiveQuery,
  LiveStart,
  ModelDelegate,
  Obj,
  SearchArgs,
  SearchPage,
  ShapeArgs,
  SsotClient,
  UntypedModel,
  UntypedSchema,
} from '../index.js';
import { ssotQueryKey, type SsotQueryData, type SsotQueryKey } from './keys.js';

/** How a query follows its data live. */
export interface LiveSpec {
  model: string;
  /** Starts the subscription; `start` is the query's data when it knows its `seq` (hydrated, or cached). */
  subscribe(start: LiveStart<unknown> | undefined): LiveQuery<unknown, unknown>;
  /** The subscription's value as the query's data. */
  toData(value: unknown): unknown;
  /** The query's data as the subscription's value (for `start`). */
  fromData(data: unknown): unknown;
}

export interface ReadSpec<Value> {
  key: SsotQueryKey;
  model: string;
  /** One plain read (no subscription). */
  read(): Promise<SsotQueryData<Value>>;
  /** How to follow it live; absent when the protocol has no live form of it (a count). */
  live?: LiveSpec;
}

/** The untyped view of a client the adapter works with inside (the hooks' signatures carry the types). */
export type AnyClient = SsotClient<UntypedSchema>;

function delegate(client: AnyClient, model: string): ModelDelegate<UntypedModel> {
  return client.$model(model);
}

/** Arguments as the untyped delegate takes them (the hooks' signatures checked them). */
function list(args: Obj): ListArgs<UntypedModel> {
  return args as ListArgs<UntypedModel>;
}

/** `select`/`include` of a read's arguments, when given. */
function shapeOf(args: Obj): ShapeArgs<UntypedModel> {
  const shape: Obj = {};
  if (args.select !== undefined) shape.select = args.select;
  if (args.include !== undefined) shape.include = args.include;
  return shape;
}

/** `findMany`: a list read with its `meta.seq`; live, a `Model:list` subscription. */
export function findManySpec(client: AnyClient, model: string, args: Obj): ReadSpec<Obj[]> {
  const rows = delegate(client, model);
  return {
    key: ssotQueryKey(model, 'findMany', args),
    model,
    read: async () => {
      const page = await rows.findPage(list(args));
      return { data: page.data, seq: page.meta.seq };
    },
    live: {
      model,
      subscribe: (start) => rows.subscribe(list(args), undefined, start as LiveStart<Obj[]> | undefined) as LiveQuery<unknown, unknown>,
      toData: (value) => value,
      fromData: (data) => data,
    },
  };
}

/**
 * `findUnique`: read as a one-row list (a list's answer carries the `seq` a live query resumes from; a `get`'s
 * does not). Live: by id, a `Model:item:<id>` subscription; by another unique, a one-row `Model:list`.
 */
export function findUniqueSpec(client: AnyClient, model: string, args: Obj): ReadSpec<Obj | null> {
  const rows = delegate(client, model);
  const where = (args.where ?? {}) as Obj;
  const listArgs: Obj = { where, ...shapeOf(args), take: 1 };
  const id = rows.whereId(where);
  const live: LiveSpec =
    id === undefined
      ? {
          model,
          subscribe: (start) => rows.subscribe(list(listArgs), undefined, start as LiveStart<Obj[]> | undefined) as LiveQuery<unknown, unknown>,
          toData: (value) => (value as Obj[])[0] ?? null,
          fromData: (data) => (data ? [data] : []),
        }
      : {
          model,
          subscribe: (start) => rows.subscribeItem(id, shapeOf(args), undefined, start as LiveStart<Obj | null> | undefined) as LiveQuery<unknown, unknown>,
          toData: (value) => value ?? null,
          fromData: (data) => data,
        };
  return {
    key: ssotQueryKey(model, 'findUnique', args),
    model,
    read: async () => {
      const page = await rows.findPage(list(listArgs));
      return { data: page.data[0] ?? null, seq: page.meta.seq };
    },
    live,
  };
}

/** `count`: a plain read (the protocol has no live count); its `seq` is unknown (-1). */
export function countSpec(client: AnyClient, model: string, args: Obj): ReadSpec<number> {
  const rows = delegate(client, model);
  const countArgs: Obj = args.where === undefined ? {} : { where: args.where };
  return {
    key: ssotQueryKey(model, 'count', countArgs),
    model,
    read: async () => ({ data: await rows.count(countArgs), seq: -1 }),
  };
}

/**
 * `search`: a plain read of the page (rows, `meta.total`, `meta.highlights`) at the `seq` it was read at. Not
 * live (the protocol has no live search); the mutation hooks refetch it after this client's writes to the model.
 */
export function searchSpec(client: AnyClient, model: string, args: Obj): ReadSpec<SearchPage<Obj>> {
  const rows = delegate(client, model);
  return {
    key: ssotQueryKey(model, 'search', args),
    model,
    read: async () => {
      const page = await rows.search(args as unknown as SearchArgs<UntypedModel>);
      return { data: page, seq: page.meta.seq };
    },
  };
}
