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
  /** A row with every field, its relations optional (present when selected or included). */
  row: object;
  /** A row as it comes without `select` or `include`: its scalar fields (default: `row`). */
  scalars?: object;
  /** Each relation: the model it leads to, whether it is a list (see `RelationInfo`). */
  relations?: { [name: string]: RelationInfo };
  where?: object;
  /** A unique selector: the id, or the fields of a unique (default: `where`). */
  unique?: object;
  orderBy?: object;
  create?: object;
  update?: object;
  select?: object;
  include?: object;
  /** `true` for a model with `@@search`: its delegate's `search` takes arguments (see `SearchArgs`). */
  searchable?: boolean;
  /** `true` for the `@@auth` model: its rows are the users `client.auth` signs in (see `AuthUser`). */
  auth?: boolean;
}

/** A relation of a model, for the result types: its target model's name, and whether it holds many rows. */
export interface RelationInfo {
  model: string;
  many: boolean;
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
  /** The server decides whether an untyped model can be searched. */
  searchable: true;
}

export type UntypedSchema = { [model: string]: UntypedModel };

/** Member `K` of a model's types, or a plain object when the model does not give it. */
export type Part<M extends ModelTypes, K extends keyof ModelTypes> = M[K] extends object ? M[K] : Obj;
export type RowOf<M extends ModelTypes> = M['row'];
/** A row without `select`/`include`. */
export type ScalarsOf<M extends ModelTypes> = M['scalars'] extends object ? M['scalars'] : M['row'];

type AuthModel<S extends SchemaTypes> = { [K in keyof S]: S[K] extends { auth: true } ? K : never }[keyof S];

/** A signed-in user as sign-up, login and `me` return them: the `@@auth` model's scalar fields; `Obj` without one. */
export type AuthUser<S extends SchemaTypes> = [AuthModel<S>] extends [never] ? Obj : ScalarsOf<S[AuthModel<S>]>;
/** A model's unique selector. */
export type UniqueOf<M extends ModelTypes> = M['unique'] extends object ? M['unique'] : Part<M, 'where'>;

/**
 * The row an operation returns, following its `select` and `include` as Prisma Client's results do: without
 * them the scalar fields; with `select` the fields it names (`true`, or arguments for a relation); with
 * `include` the scalar fields and the relations it adds. A field a read rule may hide stays optional; a to-one
 * relation may be `null` (no related row, or one the caller may not read); a to-many relation is a list.
 * Untyped models (no `relations`) give their `row`.
 */
export type Result<S extends SchemaTypes, M extends ModelTypes, A> = M['relations'] extends object
  ? A extends { select: infer Sel extends object }
    ? Simplify<Selected<S, M, Sel> & (A extends { include: infer Inc extends object } ? Included<S, M, Inc> : unknown)>
    : A extends { include: infer Inc extends object }
      ? Simplify<ScalarsOf<M> & Included<S, M, Inc>>
      : ScalarsOf<M>
  : RowOf<M>;

/** Keys of `T` whose value is not `false` or `undefined`. */
type Chosen<T> = { [K in keyof T]-?: [T[K]] extends [false | undefined] ? never : K }[keyof T];
type Relations<M extends ModelTypes> = M['relations'] extends object ? M['relations'] : Record<never, RelationInfo>;

/** `Pick` keeps a field's `?` (a field a rule may hide); relations are built by `Related`. */
type Selected<S extends SchemaTypes, M extends ModelTypes, Sel> = Pick<
  ScalarsOf<M>,
  Exclude<Chosen<Sel>, keyof Relations<M>> & keyof ScalarsOf<M>
> &
  Included<S, M, Pick<Sel, Chosen<Sel> & keyof Relations<M> & keyof Sel>>;

type Included<S extends SchemaTypes, M extends ModelTypes, Inc> = {
  [K in Chosen<Inc> & keyof Relations<M>]: Related<S, Relations<M>[K], Inc[K & keyof Inc]>;
};

type Related<S extends SchemaTypes, R, Arg> = R extends { model: infer Target extends keyof S; many: infer Many }
  ? Many extends true
    ? Array<Result<S, S[Target], Arg extends object ? Arg : unknown>>
    : Result<S, S[Target], Arg extends object ? Arg : unknown> | null
  : never;

/** Flattens an intersection into one object type (readable hovers and errors). */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The options of a list (`findMany`, a live list). */
export interface ListArgs<M extends ModelTypes> {
  where?: Part<M, 'where'>;
  orderBy?: Part<M, 'orderBy'> | Array<Part<M, 'orderBy'>>;
  take?: number;
  skip?: number;
  cursor?: UniqueOf<M>;
  select?: Part<M, 'select'>;
  include?: Part<M, 'include'>;
}

/**
 * The arguments of a full-text search (a model with `@@search`; `never` for any other, so that calling
 * `search` on it does not compile): the words to find (`"phrases"`, `-exclusions`, the last word matched as a
 * prefix; see docs/search.md), and a list's options but `cursor`. Without `orderBy`, best matches first.
 * `highlight: true` adds `meta.highlights`.
 */
export type SearchArgs<M extends ModelTypes> = M['searchable'] extends true ? SearchOptions<M> : never;

export interface SearchOptions<M extends ModelTypes> extends Omit<ListArgs<M>, 'cursor'> {
  search: string;
  highlight?: boolean;
}

/**
 * A search's page: a list page whose `meta.highlights` (with `highlight: true`) holds one object per row, in
 * the rows' order, mapping each matched field the caller may read to a snippet: HTML-escaped text with the
 * matches in `<mark>`…`</mark>`, safe to set as `innerHTML`.
 */
export interface SearchPage<Row> {
  data: Row[];
  meta: Page<Row>['meta'] & { highlights?: Array<Record<string, string>> };
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

/** An operation whose answer in a `$batch` is an `R` (a type only: the object is a plain `Operation`). */
export interface BatchOp<R> extends Operation {
  readonly __answer?: R;
}

/** The answers of a `$batch`, one per operation, each typed by its `BatchOp`. */
export type BatchAnswers<T extends readonly Operation[]> = {
  -readonly [K in keyof T]: T[K] extends BatchOp<infer R> ? R : unknown;
};

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
  /** Calls a `@@service` action: `POST /api/actions/{name}`, or the socket's `$action`; the service's answer. */
  action(name: string, data: unknown, options?: RequestOptions): Promise<OperationResult>;
  close(): void;
}

/** Per model facts the runtime cannot guess: its id fields (default `['id']`). Generated code gives them. */
export interface ModelMeta {
  id?: string[];
  /** Its REST path (`/api/posts`); when every model gives one, the client need not read `GET /api` first. */
  path?: string;
  /**
   * Its relations' names. The cache keeps a row's own fields only; a relation is kept by each live view that
   * asked for it, with its own arguments. Without this, a field holding an object or a list is taken for one.
   */
  relations?: string[];
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
