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
  IdValue,
  ListArgs,
  ModelTypes,
  Obj,
  Operation,
  OperationResult,
  Page,
  Part,
  RequestOptions,
  RowOf,
  ShapeArgs,
  Json,
} from './types.js';

/** What a delegate needs from its client (client.ts implements it). */
export interface ClientCore {
  readonly cache: NormalizedCache;
  run(op: Operation, options: CallOptions | undefined): Promise<OperationResult>;
  idFields(model: string): string[];
  idOf(model: string, row: Obj): IdValue;
  subscribe<Row, Value>(model: string, channel: string, args: Obj, kind: 'list' | 'item', start?: LiveStart<Value>): LiveQuery<Row, Value>;
  channel<State, Payload>(name: string): Channel<State, Payload>;
}

export interface CallOptions extends RequestOptions {
  /** Where this operation goes, overriding the client's choice (hybrid clients). */
  via?: 'http' | 'ws';
}

export interface WriteOptions<Row> extends CallOptions {
  /**
   * Show the change before the server answers: a patch of fields, a function of the current row, or `true`
   * (the plain values of `data`). Rolled back if the write is refused.
   */
  optimistic?: boolean | Partial<Row> | ((current: Row) => Partial<Row>);
}

export type UniqueArgs<M extends ModelTypes> = ShapeArgs<M> & { where: Part<M, 'where'> };
export type CreateArgs<M extends ModelTypes> = ShapeArgs<M> & { data: Part<M, 'create'> };
export type UpdateArgs<M extends ModelTypes> = ShapeArgs<M> & { where: Part<M, 'where'>; data: Part<M, 'update'> };
export type BatchCount = { count: number };

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

export class ModelDelegate<M extends ModelTypes> {
  constructor(
    private readonly core: ClientCore,
    readonly name: string,
  ) {}

  async findMany(args: ListArgs<M> = {}, options?: CallOptions): Promise<Array<RowOf<M>>> {
    return (await this.findPage(args, options)).data;
  }

  /** A list with its `meta` (total, hasMore, and the `seq` it was read at). */
  async findPage(args: ListArgs<M> = {}, options?: CallOptions): Promise<Page<RowOf<M>>> {
    const result = await this.core.run({ model: this.name, action: 'list', args: args as Obj }, options);
    const page = result.body as Page<RowOf<M>>;
    this.core.cache.batch(() => {
      for (const row of page.data) this.remember(row as Obj, page.meta.seq);
    });
    return page;
  }

  /** The record a unique selector names, or null. By id it is a `get`; by another unique, a one-row list. */
  async findUnique(args: UniqueArgs<M>, options?: CallOptions): Promise<RowOf<M> | null> {
    const key = this.keyOf(args.where as Obj);
    if (key === undefined) return this.findFirst({ ...args, take: 1 } as ListArgs<M>, options);
    try {
      const result = await this.core.run({ model: this.name, action: 'get', key, args: shape(args) }, options);
      this.remember(result.body as Obj, 0);
      return result.body as RowOf<M>;
    } catch (error) {
      if (error instanceof SsotError && error.status === 404) return null;
      throw error;
    }
  }

  async findFirst(args: ListArgs<M> = {}, options?: CallOptions): Promise<RowOf<M> | null> {
    const rows = await this.findMany({ ...args, take: args.take ?? 1 }, options);
    return rows[0] ?? null;
  }

  async count(args: { where?: Part<M, 'where'> } = {}, options?: CallOptions): Promise<number> {
    const args_: Obj = args.where === undefined ? {} : { where: args.where };
    const result = await this.core.run({ model: this.name, action: 'count', args: args_ }, options);
    return (result.body as { count: number }).count;
  }

  async create(args: CreateArgs<M>, options?: CallOptions): Promise<RowOf<M>> {
    const result = await this.core.run({ model: this.name, action: 'create', data: args.data, args: shape(args) }, options);
    this.remember(result.body as Obj, result.seq ?? 0);
    return withSeq(result.body as RowOf<M>, result.seq);
  }

  async update(args: UpdateArgs<M>, options?: WriteOptions<RowOf<M>>): Promise<RowOf<M>> {
    const key = this.requireKey(args.where as Obj, 'update');
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
      return withSeq(result.body as RowOf<M>, result.seq);
    } catch (error) {
      if (layer !== undefined) cache.dropLayer(layer); // refused: the row shows the server's data again
      throw error;
    }
  }

  async delete(args: UniqueArgs<M>, options?: WriteOptions<RowOf<M>>): Promise<RowOf<M>> {
    const key = this.requireKey(args.where as Obj, 'delete');
    const cache = this.core.cache;
    const layer = options?.optimistic ? cache.addLayer(this.name, key, null) : undefined;
    try {
      const result = await this.core.run({ model: this.name, action: 'delete', key, args: shape(args) }, options);
      cache.batch(() => {
        cache.remove(this.name, key, result.seq ?? 0);
        if (layer !== undefined) cache.dropLayer(layer);
      });
      return withSeq(result.body as RowOf<M>, result.seq);
    } catch (error) {
      if (layer !== undefined) cache.dropLayer(layer);
      throw error;
    }
  }

  async createMany(args: { data: Array<Part<M, 'create'>> }, options?: CallOptions): Promise<BatchCount> {
    const result = await this.core.run({ model: this.name, action: 'createMany', data: args.data }, options);
    return withSeq(result.body as BatchCount, result.seq);
  }

  async updateMany(args: { where: Part<M, 'where'>; data: Part<M, 'update'> }, options?: CallOptions): Promise<BatchCount> {
    const result = await this.core.run({ model: this.name, action: 'updateMany', args: { where: args.where }, data: args.data }, options);
    return withSeq(result.body as BatchCount, result.seq);
  }

  async deleteMany(args: { where: Part<M, 'where'> }, options?: CallOptions): Promise<BatchCount> {
    const result = await this.core.run({ model: this.name, action: 'deleteMany', args: { where: args.where } }, options);
    return withSeq(result.body as BatchCount, result.seq);
  }

  /**
   * A live list: the query's rows, kept current over the socket. `onChange` hears every change. `start`: rows
   * already known at a `seq` (a server-rendered page), shown at once and resumed from (see `LiveStart`).
   */
  subscribe(
    args: ListArgs<M> = {},
    onChange?: (rows: Array<RowOf<M>>, change: LiveChange) => void,
    start?: LiveStart<Array<RowOf<M>>>,
  ): LiveQuery<RowOf<M>, Array<RowOf<M>>> {
    const live = this.core.subscribe<RowOf<M>, Array<RowOf<M>>>(this.name, `${this.name}:list`, args as Obj, 'list', start);
    if (onChange) live.onChange(onChange);
    return live;
  }

  /** One live record (null while it does not exist or is hidden); `start` as for `subscribe`. */
  subscribeItem(
    id: IdValue,
    args: ShapeArgs<M> = {},
    onChange?: (row: RowOf<M> | null, change: LiveChange) => void,
    start?: LiveStart<RowOf<M> | null>,
  ): LiveQuery<RowOf<M>, RowOf<M> | null> {
    const channel = `${this.name}:item:${Array.isArray(id) ? id.join(',') : String(id)}`;
    const live = this.core.subscribe<RowOf<M>, RowOf<M> | null>(this.name, channel, args as Obj, 'item', start);
    if (onChange) live.onChange(onChange);
    return live;
  }

  /** The record's ephemeral channel (presence, broadcasts). */
  channel<State = Json, Payload = Json>(id: IdValue): Channel<State, Payload> {
    return this.core.channel<State, Payload>(`${this.name}:channel:${Array.isArray(id) ? id.join(',') : String(id)}`);
  }

  /** Operations for `client.$batch([...])`, in the protocol's shape. */
  readonly op = {
    create: (args: CreateArgs<M>): Operation => ({ model: this.name, action: 'create', data: args.data, args: shape(args) }),
    update: (args: UpdateArgs<M>): Operation => ({
      model: this.name,
      action: 'update',
      key: this.requireKey(args.where as Obj, 'update'),
      data: args.data,
      args: shape(args),
    }),
    delete: (args: UniqueArgs<M>): Operation => ({ model: this.name, action: 'delete', key: this.requireKey(args.where as Obj, 'delete') }),
    findMany: (args: ListArgs<M> = {}): Operation => ({ model: this.name, action: 'list', args: args as Obj }),
    createMany: (args: { data: Array<Part<M, 'create'>> }): Operation => ({ model: this.name, action: 'createMany', data: args.data }),
    updateMany: (args: { where: Part<M, 'where'>; data: Part<M, 'update'> }): Operation => ({
      model: this.name,
      action: 'updateMany',
      args: { where: args.where },
      data: args.data,
    }),
    deleteMany: (args: { where: Part<M, 'where'> }): Operation => ({ model: this.name, action: 'deleteMany', args: { where: args.where } }),
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

  private remember(row: Obj | null, seq: number): void {
    if (!row || typeof row !== 'object') return;
    const id = this.core.idOf(this.name, row);
    if (id === undefined || (Array.isArray(id) && id.some((part) => part === undefined))) return;
    this.core.cache.write(this.name, id, row, seq);
  }
}
