/**
 * `ModelDelegate`: one model's operations in the shape of Prisma Client (`findMany`, `findUnique`, `create`,
 * `update`, …, `subscribe`), generic over the model's types so that generated code only fills them in. Owns
 * turning Prisma-style arguments into protocol operations, keeping the cache current with every answer, and
 * optimistic updates and deletes (applied to the cache at once, rolled back when the server refuses).
 */
import type { NormalizedCache } from './cache.js';
import type { Channel } from './channels.js';
import { SsotError } from './errors.js';
import type { LiveQuery, LiveChange, LiveStart } from './live.js';
import type {
  BatchOp,
  IdValue,
  ListArgs,
  ModelTypes,
  Obj,
  Operation,
  OperationResult,
  Page,
  Part,
  RequestOptions,
  Result,
  RowOf,
  SchemaTypes,
  SearchArgs,
  SearchPage,
  ShapeArgs,
  Json,
  UniqueOf,
  UntypedSchema,
} from './types.js';

/** What a delegate needs from its client (client.ts implements it). */
export interface ClientCore {
  readonly cache: NormalizedCache;
  run(op: Operation, options: CallOptions | undefined): Promise<OperationResult>;
  idFields(model: string): string[];
  idOf(model: string, row: Obj): IdValue;
  subscribe<Row, Value>(model: string, channel: string, args: Obj, kind: 'list' | 'item', start?: LiveStart<Value>): LiveQuery<Row, Value>;
  channel<State, Payload>(name: string): Channel<State, Payload>;
  /** Resolves when the client's live queries reflect a write at `seq` (see `LiveRegistry.settle`). */
  settle(seq: number | undefined, options: CallOptions | undefined): Promise<void>;
}

export interface CallOptions extends RequestOptions {
  /** Where this operation goes, overriding the client's choice (hybrid clients). */
  via?: 'http' | 'ws';
  /**
   * A write resolves once the client's live queries reflect it (read-your-writes; default `true`); `false`
   * resolves as soon as the server answers.
   */
  awaitLive?: boolean;
}

export interface WriteOptions<Row> extends CallOptions {
  /**
   * Show the change before the server answers: a patch of fields, a function of the current row, or `true`
   * (the plain values of `data`). Rolled back if the write is refused.
   */
  optimistic?: boolean | Partial<Row> | ((current: Row) => Partial<Row>);
}

export type UniqueArgs<M extends ModelTypes> = ShapeArgs<M> & { where: UniqueOf<M> };
export type CreateArgs<M extends ModelTypes> = ShapeArgs<M> & { data: Part<M, 'create'> };
export type UpdateArgs<M extends ModelTypes> = ShapeArgs<M> & { where: UniqueOf<M>; data: Part<M, 'update'> };
export type CountArgs<M extends ModelTypes> = { where?: Part<M, 'where'> };
export type BatchCount = { count: number };

/**
 * `A`, with every key that `Shape` does not have typed `never`: a misspelt argument (`findMany({ wher: ... })`)
 * is an error even though `A` is inferred (inference alone does not check excess properties). An intersection
 * with `A` itself, not a mapped type over it: TypeScript 5 infers through a mapped type lazily, and nested
 * arguments (`include: { posts: { take: 1, include: ... } }`) then lose their shape in the result type.
 */
export type Subset<A, Shape> = A & { [K in Exclude<keyof A, keyof Shape>]: never };

const seqs = new WeakMap<object, number>();

/** The change-log `seq` a write's answer committed at (read-your-writes: `live.waitForSeq(seqOf(row))`). */
export function seqOf(result: object): number | undefined {
  return seqs.get(result);
}

function withSeq<T>(value: T, seq: number | undefined): T {
  if (seq !== undefined && value !== null && typeof value === 'object') seqs.set(value, seq);
  return value;
}

function shape(input: object | undefined): Obj | undefined {
  if (!input) return undefined;
  const args = input as Obj;
  const out: Obj = {};
  if (args.select !== undefined) out.select = args.select;
  if (args.include !== undefined) out.include = args.include;
  return Object.keys(out).length ? out : undefined;
}

/** The plain values of an update's data: what an optimistic `true` shows (operators such as `increment` are not guessed). */
function plainValues(data: Obj): Obj {
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v === null || typeof v !== 'object' || v instanceof Date));
}

/**
 * A model's operations. `M` is the model's types and `S` every model's (a result's relations are typed by their
 * target model); each read and write returns `Result<S, M, A>`, which follows the call's `select` and `include`.
 */
export class ModelDelegate<M extends ModelTypes, S extends SchemaTypes = UntypedSchema> {
  constructor(
    private readonly core: ClientCore,
    readonly name: string,
  ) {}

  async findMany<A extends ListArgs<M> = ListArgs<M>>(
    args?: Subset<A, ListArgs<M>>,
    options?: CallOptions,
  ): Promise<Array<Result<S, M, A>>> {
    return (await this.findPage<A>(args, options)).data;
  }

  /** A list with its `meta` (total, hasMore, and the `seq` it was read at). */
  async findPage<A extends ListArgs<M> = ListArgs<M>>(
    args?: Subset<A, ListArgs<M>>,
    options?: CallOptions,
  ): Promise<Page<Result<S, M, A>>> {
    return this.readPage<Page<Result<S, M, A>>>((args ?? {}) as Obj, options);
  }

  /**
   * Full-text search (a model with `@@search`): the rows matching `search` that the caller may read, best
   * first unless `orderBy` says otherwise, with `meta.total` and, with `highlight: true`, `meta.highlights`.
   * A field the caller may not read neither matches nor is highlighted. A plain read, not live: search again
   * to see later changes (the React adapter's `useSearch` does after this client's writes).
   */
  async search<A extends SearchArgs<M>>(args: Subset<A, SearchArgs<M>>, options?: CallOptions): Promise<SearchPage<Result<S, M, A>>> {
    return this.readPage<SearchPage<Result<S, M, A>>>(args as Obj, options);
  }

  /** A `list` read (a page, a search), its rows remembered in the cache at the `seq` it was read at. */
  private async readPage<P extends { data: unknown[]; meta: { seq: number } }>(args: Obj, options: CallOptions | undefined): Promise<P> {
    const result = await this.core.run({ model: this.name, action: 'list', args }, options);
    const page = result.body as P;
    this.core.cache.batch(() => {
      for (const row of page.data) this.remember(row as Obj, page.meta.seq);
    });
    return page;
  }

  /** The record a unique selector names, or null. By id it is a `get`; by another unique, a one-row list. */
  async findUnique<A extends UniqueArgs<M>>(
    args: Subset<A, UniqueArgs<M>>,
    options?: CallOptions,
  ): Promise<Result<S, M, A> | null> {
    const key = this.keyOf(args.where as Obj);
    if (key === undefined) {
      const rows = await this.findMany({ ...(args as Obj), take: 1 } as ListArgs<M>, options);
      return (rows[0] ?? null) as Result<S, M, A> | null;
    }
    try {
      const result = await this.core.run({ model: this.name, action: 'get', key, args: shape(args) }, options);
      this.remember(result.body as Obj, 0);
      return result.body as Result<S, M, A>;
    } catch (error) {
      if (error instanceof SsotError && error.status === 404) return null;
      throw error;
    }
  }

  /** Like `findUnique`, but a missing record rejects with the server's `404` (`not_found`). */
  async findUniqueOrThrow<A extends UniqueArgs<M>>(args: Subset<A, UniqueArgs<M>>, options?: CallOptions): Promise<Result<S, M, A>> {
    const row = await this.findUnique<A>(args, options);
    if (row === null) throw this.notFound();
    return row;
  }

  async findFirst<A extends ListArgs<M> = ListArgs<M>>(
    args?: Subset<A, ListArgs<M>>,
    options?: CallOptions,
  ): Promise<Result<S, M, A> | null> {
    const given = (args ?? {}) as ListArgs<M>;
    const rows = await this.findMany<A>({ ...given, take: given.take ?? 1 } as Subset<A, ListArgs<M>>, options);
    return rows[0] ?? null;
  }

  async count(args: CountArgs<M> = {}, options?: CallOptions): Promise<number> {
    const args_: Obj = args.where === undefined ? {} : { where: args.where };
    const result = await this.core.run({ model: this.name, action: 'count', args: args_ }, options);
    return (result.body as { count: number }).count;
  }

  async create<A extends CreateArgs<M>>(args: Subset<A, CreateArgs<M>>, options?: CallOptions): Promise<Result<S, M, A>> {
    const result = await this.core.run({ model: this.name, action: 'create', data: args.data, args: shape(args) }, options);
    this.remember(result.body as Obj, result.seq ?? 0);
    await this.core.settle(result.seq, options);
    return withSeq(result.body as Result<S, M, A>, result.seq);
  }

  /**
   * Changes the record `where` names. By a unique other than the id, the record's id is read first (one
   * `list` of its id fields), then the update runs by id.
   */
  async update<A extends UpdateArgs<M>>(
    args: Subset<A, UpdateArgs<M>>,
    options?: WriteOptions<RowOf<M>>,
  ): Promise<Result<S, M, A>> {
    // By id the key is known now, so an optimistic change shows before this function first yields.
    const key = this.keyOf(args.where as Obj) ?? (await this.resolveKey(args.where as Obj, options));
    const cache = this.core.cache;
    let layer: number | undefined;
    if (options?.optimistic) {
      const current = (cache.get(this.name, key) ?? {}) as RowOf<M>;
      const o = options.optimistic;
      const patch = o === true ? plainValues(args.data as Obj) : typeof o === 'function' ? o(current) : o;
      layer = cache.addLayer(this.name, key, patch as Obj);
    }
    try {
      const result = await this.core.run(
        { model: this.name, action: 'update', key, data: args.data, args: shape(args) },
        options,
      );
      cache.batch(() => {
        this.remember(result.body as Obj, result.seq ?? 0);
        if (layer !== undefined) cache.dropLayer(layer);
      });
      await this.core.settle(result.seq, options);
      return withSeq(result.body as Result<S, M, A>, result.seq);
    } catch (error) {
      if (layer !== undefined) cache.dropLayer(layer); // refused: the row shows the server's data again
      throw error;
    }
  }

  /** Deletes the record `where` names (by a unique other than the id, as `update` does); answers it as it was. */
  async delete<A extends UniqueArgs<M>>(
    args: Subset<A, UniqueArgs<M>>,
    options?: WriteOptions<RowOf<M>>,
  ): Promise<Result<S, M, A>> {
    const key = this.keyOf(args.where as Obj) ?? (await this.resolveKey(args.where as Obj, options));
    const cache = this.core.cache;
    const layer = options?.optimistic ? cache.addLayer(this.name, key, null) : undefined;
    try {
      const result = await this.core.run({ model: this.name, action: 'delete', key, args: shape(args) }, options);
      cache.batch(() => {
        cache.remove(this.name, key, result.seq ?? 0);
        if (layer !== undefined) cache.dropLayer(layer);
      });
      await this.core.settle(result.seq, options);
      return withSeq(result.body as Result<S, M, A>, result.seq);
    } catch (error) {
      if (layer !== undefined) cache.dropLayer(layer);
      throw error;
    }
  }

  async createMany(args: { data: Array<Part<M, 'create'>> }, options?: CallOptions): Promise<BatchCount> {
    const result = await this.core.run({ model: this.name, action: 'createMany', data: args.data }, options);
    await this.core.settle(result.seq, options);
    return withSeq(result.body as BatchCount, result.seq);
  }

  async updateMany(args: { where: Part<M, 'where'>; data: Part<M, 'update'> }, options?: CallOptions): Promise<BatchCount> {
    const result = await this.core.run({ model: this.name, action: 'updateMany', args: { where: args.where }, data: args.data }, options);
    await this.core.settle(result.seq, options);
    return withSeq(result.body as BatchCount, result.seq);
  }

  async deleteMany(args: { where: Part<M, 'where'> }, options?: CallOptions): Promise<BatchCount> {
    const result = await this.core.run({ model: this.name, action: 'deleteMany', args: { where: args.where } }, options);
    await this.core.settle(result.seq, options);
    return withSeq(result.body as BatchCount, result.seq);
  }

  /**
   * A live list: the query's rows, kept current over the socket. `onChange` hears every change. `start`: rows
   * already known at a `seq` (a server-rendered page), shown at once and resumed from (see `LiveStart`).
   */
  subscribe<A extends ListArgs<M> = ListArgs<M>>(
    args?: Subset<A, ListArgs<M>>,
    onChange?: (rows: Array<Result<S, M, A>>, change: LiveChange) => void,
    start?: LiveStart<Array<Result<S, M, A>>>,
  ): LiveQuery<Result<S, M, A>, Array<Result<S, M, A>>> {
    type Row = Result<S, M, A>;
    const live = this.core.subscribe<Row, Row[]>(this.name, `${this.name}:list`, (args ?? {}) as Obj, 'list', start);
    if (onChange) live.onChange(onChange);
    return live;
  }

  /** One live record (null while it does not exist or is hidden); `start` as for `subscribe`. */
  subscribeItem<A extends ShapeArgs<M> = ShapeArgs<M>>(
    id: IdValue,
    args?: Subset<A, ShapeArgs<M>>,
    onChange?: (row: Result<S, M, A> | null, change: LiveChange) => void,
    start?: LiveStart<Result<S, M, A> | null>,
  ): LiveQuery<Result<S, M, A>, Result<S, M, A> | null> {
    type Row = Result<S, M, A>;
    const channel = `${this.name}:item:${Array.isArray(id) ? id.join(',') : String(id)}`;
    const live = this.core.subscribe<Row, Row | null>(this.name, channel, (args ?? {}) as Obj, 'item', start);
    if (onChange) live.onChange(onChange);
    return live;
  }

  /** The record's ephemeral channel (presence, broadcasts). */
  channel<State = Json, Payload = Json>(id: IdValue): Channel<State, Payload> {
    return this.core.channel<State, Payload>(`${this.name}:channel:${Array.isArray(id) ? id.join(',') : String(id)}`);
  }

  /**
   * Operations for `client.$batch([...])`, in the protocol's shape, each typed by what its answer in the batch
   * is (`$batch` resolves with a tuple of them).
   */
  readonly op = {
    create: <A extends CreateArgs<M>>(args: Subset<A, CreateArgs<M>>): BatchOp<Result<S, M, A>> => ({
      model: this.name,
      action: 'create',
      data: args.data,
      args: shape(args),
    }),
    update: <A extends UpdateArgs<M>>(args: Subset<A, UpdateArgs<M>>): BatchOp<Result<S, M, A>> => ({
      model: this.name,
      action: 'update',
      key: this.requireKey(args.where as Obj, 'update'),
      data: args.data,
      args: shape(args),
    }),
    delete: <A extends UniqueArgs<M>>(args: Subset<A, UniqueArgs<M>>): BatchOp<Result<S, M, A>> => ({
      model: this.name,
      action: 'delete',
      key: this.requireKey(args.where as Obj, 'delete'),
      args: shape(args),
    }),
    findMany: <A extends ListArgs<M> = ListArgs<M>>(args?: Subset<A, ListArgs<M>>): BatchOp<Page<Result<S, M, A>>> => ({
      model: this.name,
      action: 'list',
      args: (args ?? {}) as Obj,
    }),
    search: <A extends SearchArgs<M>>(args: Subset<A, SearchArgs<M>>): BatchOp<SearchPage<Result<S, M, A>>> => ({
      model: this.name,
      action: 'list',
      args: args as Obj,
    }),
    count: (args: CountArgs<M> = {}): BatchOp<{ count: number }> => ({
      model: this.name,
      action: 'count',
      args: args.where === undefined ? {} : { where: args.where },
    }),
    createMany: (args: { data: Array<Part<M, 'create'>> }): BatchOp<BatchCount> => ({
      model: this.name,
      action: 'createMany',
      data: args.data,
    }),
    updateMany: (args: { where: Part<M, 'where'>; data: Part<M, 'update'> }): BatchOp<BatchCount> => ({
      model: this.name,
      action: 'updateMany',
      args: { where: args.where },
      data: args.data,
    }),
    deleteMany: (args: { where: Part<M, 'where'> }): BatchOp<BatchCount> => ({
      model: this.name,
      action: 'deleteMany',
      args: { where: args.where },
    }),
  };

  /**
   * The record's id when `where` is exactly the id fields with plain values (what `findUnique` reads with a
   * `get`, and what `subscribeItem` takes), else undefined (another unique: a one-row list).
   */
  whereId(where: Part<M, 'where'>): IdValue | undefined {
    return this.keyOf(where as Obj);
  }

  /** The id a `where` names when it holds exactly the id fields (plain values), else undefined. */
  private keyOf(where: Obj | undefined): IdValue | undefined {
    if (!where) return undefined;
    const fields = this.core.idFields(this.name);
    if (Object.keys(where).length !== fields.length) return undefined;
    const parts: Array<string | number> = [];
    for (const field of fields) {
      const value = where[field];
      if (typeof value !== 'string' && typeof value !== 'number') return undefined;
      parts.push(value);
    }
    return parts.length === 1 ? parts[0] : parts;
  }

  private requireKey(where: Obj, action: string): IdValue {
    const key = this.keyOf(where);
    if (key === undefined) {
      throw new TypeError(`${this.name}.${action}: \`where\` must name the id (${this.core.idFields(this.name).join(', ')})`);
    }
    return key;
  }

  /** The id of the row a unique selector other than the id names, read with one `list` of its id fields. */
  private async resolveKey(where: Obj, options: CallOptions | undefined): Promise<IdValue> {
    const fields = this.core.idFields(this.name);
    const select = Object.fromEntries(fields.map((field) => [field, true]));
    const result = await this.core.run({ model: this.name, action: 'list', args: { where, select, take: 1 } }, options);
    const row = (result.body as Page<Obj>).data[0];
    if (!row) throw this.notFound();
    return this.core.idOf(this.name, row);
  }

  private notFound(): SsotError {
    return new SsotError({ status: 404, code: 'not_found', title: 'Not Found', detail: `no ${this.name} matches the unique selector` });
  }

  private remember(row: Obj | null, seq: number): void {
    if (!row || typeof row !== 'object') return;
    const id = this.core.idOf(this.name, row);
    // A model without an id (a view with no unique) is not cached: its rows have no identity to merge by.
    if (id === undefined || (Array.isArray(id) && (id.length === 0 || id.some((part) => part === undefined)))) return;
    this.core.cache.write(this.name, id, row, seq);
  }
}
