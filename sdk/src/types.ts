/**
 * The public vocabulary of the runtime: JSON values, ids, the operations every transport carries, and the
 * generic "schema" type that generated code fills in (model name → row, where, orderBy, create, update
 * types). Nothing here runs; it is shared by every other module.
 */

/** A JSON value, as the server sends and takes it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A plain object of unknown values: what a row or an argument is when no generated type says more. */
export type Obj = Record<string, unknown>;

/** A record's id: its value, or (for an `@@id`) its parts in `@@id` order. */
export type IdValue = string | number | ReadonlyArray<string | number>;

/**
 * The types of one model. Generated code gives each member precisely; hand-written code may give only `row`.
 * Members left out fall back to plain objects.
 */
export interface ModelTypes {
  row: object;
  where?: object;
  orderBy?: object;
  create?: object;
  update?: object;
  select?: object;
  include?: object;
}

/** Model name → its types. `createClient<Schema>()` takes one; without it every model is untyped. */
export type SchemaTypes = { [model: string]: ModelTypes };

/** What an untyped client knows of any model. */
export interface UntypedModel {
  row: Obj;
  where: Obj;
  orderBy: Obj;
  create: Obj;
  update: Obj;
  select: Obj;
  include: Obj;
}

export type UntypedSchema = { [model: string]: UntypedModel };

/** Member `K` of a model's types, or a plain object when the model does not give it. */
export type Part<M extends ModelTypes, K extends keyof ModelTypes> = M[K] extends object ? M[K] : Obj;
export type RowOf<M extends ModelTypes> = M['row'];

/** The options of a list (`findMany`, a live list). */
export interface ListArgs<M extends ModelTypes> {
  where?: Part<M, 'where'>;
  orderBy?: Part<M, 'orderBy'> | Array<Part<M, 'orderBy'>>;
  take?: number;
  skip?: number;
  cursor?: Obj;
  select?: Part<M, 'select'>;
  include?: Part<M, 'include'>;
}

/** What shapes a single returned row (`select`/`include`). */
export interface ShapeArgs<M extends ModelTypes> {
  select?: Part<M, 'select'>;
  include?: Part<M, 'include'>;
}

/** A list page: the rows and the server's `meta` (total, hasMore, and the change-log `seq` it was read at). */
export interface Page<Row> {
  data: Row[];
  meta: { total: number; skip: number; take: number; hasMore: boolean; seq: number };
}

/** The actions of the protocol, one per REST operation. */
export type Action =
  | 'list'
  | 'get'
  | 'count'
  | 'create'
  | 'update'
  | 'delete'
  | 'createMany'
  | 'updateMany'
  | 'deleteMany';

export const READ_ACTIONS: ReadonlySet<Action> = new Set<Action>(['list', 'get', 'count']);

/** One operation, in the shape of the socket's `request` (the HTTP transport maps it to its route). */
export interface Operation {
  model: string;
  action: Action;
  /** The record's id, for `get`, `update`, `delete`. */
  key?: IdValue;
  /** `where`, `orderBy`, `take`, `skip`, `cursor`, `select`, `include`, as the action takes them. */
  args?: Obj;
  /** `create`, `update`: the record or the changes; `createMany`: a list; `updateMany`: the changes. */
  data?: unknown;
}

/** A successful answer: the REST status and body, and the change-log position of a write. */
export interface OperationResult {
  status: number;
  body: unknown;
  /** On a write: the `seq` it committed at (read-your-writes). */
  seq?: number;
}

export interface BatchResult {
  results: OperationResult[];
  seq?: number;
}

export interface RequestOptions {
  /** Overrides the client's `timeoutMs` for this request. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * What carries operations to the server. `HttpTransport` and `WebSocketTransport` implement it; a failed
 * operation rejects with an `SsotError`.
 */
export interface DataClient {
  request(op: Operation, options?: RequestOptions): Promise<OperationResult>;
  batch(ops: Operation[], options?: RequestOptions): Promise<BatchResult>;
  close(): void;
}

/** Per model facts the runtime cannot guess: its id fields (default `['id']`). Generated code gives them. */
export interface ModelMeta {
  id?: string[];
}

/**
 * The minimal WebSocket the runtime needs: the browser's, or `ws`'s in Node. Listeners are added with
 * `addEventListener` (method syntax) so that both classes fit without a cast.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

export type WebSocketConstructor = new (url: string, protocols: string) => WebSocketLike;
