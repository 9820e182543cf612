/**
 * `createClient`: wires the transports, the token manager, the cache, live queries and channels into one
 * client, and decides where each operation goes (`transport: 'http' | 'ws' | 'hybrid'`; in hybrid, reads use
 * the socket while it is open and HTTP otherwise, and writes go where `writes` says).
 */
import { AuthApi } from './auth.js';
import type { BackoffOptions } from './backoff.js';
import { NormalizedCache } from './cache.js';
import { ChannelRegistry, type Channel } from './channels.js';
import { ModelDelegate, type CallOptions, type ClientCore } from './delegate.js';
import { HttpTransport } from './http.js';
import type { LiveQuery } from './live.js';
import { LiveRegistry } from './registry.js';
import { TokenManager, type GetToken } from './tokens.js';
import {
  READ_ACTIONS,
  type AuthUser,
  type BatchAnswers,
  type DataClient,
  type IdValue,
  type Json,
  type ModelMeta,
  type Obj,
  type Operation,
  type OperationResult,
  type SchemaTypes,
  type UntypedSchema,
  type WebSocketConstructor,
} from './types.js';
import { WebSocketTransport, type ConnectionStatus, type StatusInfo } from './ws.js';

export interface ClientOptions {
  /** The server's base URL (`http://localhost:4000`). */
  url: string;
  /** The socket's URL, when it is not `<url>/api/ws`. */
  wsUrl?: string;
  /** A fixed access token or admin key. */
  token?: string;
  /** Called for a token before each HTTP request and each (re)connection; for tokens managed elsewhere. */
  getToken?: GetToken;
  /** Where operations go (default `hybrid`). Live queries and channels always use the socket. */
  transport?: 'http' | 'ws' | 'hybrid';
  /** In hybrid mode, where writes go (default `http`). */
  writes?: 'http' | 'ws';
  /** The WebSocket class (Node 20 has none built in: pass `ws`'s). Default `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Request timeout in ms (default 30 s). */
  timeoutMs?: number;
  /** Reconnection delays (exponential backoff with jitter). */
  backoff?: BackoffOptions;
  /** Socket heartbeat period (default 20 s). */
  heartbeatMs?: number;
  /** Refresh a session this long before its access token expires (default 60 s). */
  refreshSkewMs?: number;
  /** Per model facts: id fields (default `['id']`). Generated code gives them. */
  models?: Record<string, ModelMeta>;
  /** Model → REST path; read from `GET /api` when not given. */
  resources?: Record<string, string>;
  fetch?: typeof fetch;
}

/**
 * The client. Its own members start with `$` (as Prisma Client's do), except `auth`, so that generated code can
 * add a delegate per model (`client.post`) without a name of the schema ever meeting one of the client's.
 */
export class SsotClient<S extends SchemaTypes = UntypedSchema> {
  readonly $cache: NormalizedCache;
  readonly $http: HttpTransport;
  readonly $socket: WebSocketTransport;
  readonly auth: AuthApi<AuthUser<S>>;
  readonly $tokens: TokenManager;
  /** What the delegates use of the client; not a public surface (see `ClientCore`). */
  private readonly core: ClientCore;
  private readonly live: LiveRegistry;
  private readonly channels: ChannelRegistry;
  private readonly delegates = new Map<string, unknown>();
  private readonly mode: 'http' | 'ws' | 'hybrid';
  private readonly writes: 'http' | 'ws';

  constructor(private readonly options: ClientOptions) {
    const timeoutMs = options.timeoutMs ?? 30_000;
    this.mode = options.transport ?? 'hybrid';
    this.writes = options.writes ?? (this.mode === 'ws' ? 'ws' : 'http');
    this.$tokens = new TokenManager({
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.getToken ? { getToken: options.getToken } : {}),
      ...(options.refreshSkewMs !== undefined ? { refreshSkewMs: options.refreshSkewMs } : {}),
    });
    const resources = resourcesOf(options);
    this.$http = new HttpTransport({
      url: options.url,
      tokens: this.$tokens,
      timeoutMs,
      ...(resources ? { resources } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.$socket = new WebSocketTransport({
      url: options.url,
      tokens: this.$tokens,
      timeoutMs,
      ...(options.wsUrl ? { wsUrl: options.wsUrl } : {}),
      ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    });
    this.auth = new AuthApi<AuthUser<S>>(this.$http, this.$tokens);
    this.$cache = new NormalizedCache((model) => options.models?.[model]?.relations);
    const idFields = (model: string): string[] => options.models?.[model]?.id ?? ['id'];
    const idOf = (model: string, row: Obj): IdValue => {
      const parts = idFields(model).map((field) => row[field] as string | number);
      return parts.length === 1 ? (parts[0] as string | number) : parts;
    };
    this.live = new LiveRegistry(this.$socket, this.$cache, idOf);
    this.channels = new ChannelRegistry(this.$socket);
    this.core = {
      cache: this.$cache,
      run: (op, callOptions) => this.transportFor(!READ_ACTIONS.has(op.action), callOptions).request(op, callOptions),
      idFields,
      idOf,
      subscribe: (model, channel, args, kind, start) => this.live.subscribe(model, channel, args, kind, start),
      channel: (name) => this.channels.get(name),
      settle: (seq, callOptions) =>
        seq === undefined || callOptions?.awaitLive === false
          ? Promise.resolve()
          : this.live.settle(seq, callOptions?.timeoutMs ?? timeoutMs),
    };
    // A hybrid client reads over the socket while it is open: open it now rather than at the first subscription.
    if (this.mode === 'hybrid') this.$socket.connect();
  }

  /** The delegate of a model (`client.$model('Post').findMany(...)`); generated code wires `client.post` to it. */
  $model<K extends keyof S & string>(name: K): ModelDelegate<S[K], S> {
    let delegate = this.delegates.get(name) as ModelDelegate<S[K], S> | undefined;
    if (!delegate) {
      delegate = new ModelDelegate<S[K], S>(this.core, name);
      this.delegates.set(name, delegate);
    }
    return delegate;
  }

  /**
   * Runs several operations in one transaction, all or nothing; resolves with each one's answer body, typed by
   * the delegates' `op` builders (`client.$batch([client.post.op.create({...}), client.user.op.count()])`).
   */
  async $batch<T extends readonly Operation[]>(operations: [...T], options?: CallOptions): Promise<BatchAnswers<T>> {
    const transport = this.transportFor(true, options);
    const result = await transport.batch(operations, options);
    await this.core.settle(result.seq, options);
    return result.results.map((r) => r.body) as BatchAnswers<T>;
  }

  /**
   * Calls a `@@service` action by name with a JSON body: the server checks the action's rule for this caller and
   * forwards the call; resolves with the service's answer, rejects with an `SsotError` (`401`/`403` refused,
   * `504` `action_timeout`, `502` `action_failed`, or the service's own `4xx`). Generated clients type the names
   * (`client.$actions.invite(data)`). In a hybrid client, actions go the way writes go.
   */
  async $action<R = Json>(name: string, data?: unknown, options?: CallOptions): Promise<R> {
    const result = await this.transportFor(true, options).action(name, data, options);
    return result.body as R;
  }

  /** A channel by its full name (`Room:channel:5`); `client.$model('Room').channel(5)` is the same. */
  $channel<State = Json, Payload = Json>(name: string): Channel<State, Payload> {
    return this.channels.get<State, Payload>(name);
  }

  get $status(): ConnectionStatus {
    return this.$socket.status;
  }

  $onStatus(listener: (info: StatusInfo) => void): () => void {
    return this.$socket.onStatus(listener);
  }

  /** Opens the socket (live queries and channels open it by themselves). */
  $connect(): void {
    this.$socket.connect();
  }

  /** Closes the socket for good, ends live queries and channels, and stops refreshing the token. */
  $disconnect(): void {
    this.live.closeAll();
    this.channels.closeAll();
    this.$socket.close();
    this.$http.close();
    this.$tokens.stop();
  }

  private transportFor(write: boolean, options: CallOptions | undefined): DataClient {
    const via = options?.via ?? (this.mode === 'hybrid' ? (write ? this.writes : this.$socket.isOpen ? 'ws' : 'http') : this.mode);
    return via === 'ws' ? this.$socket : this.$http;
  }
}

/** Model → REST path: `resources`, else every model's `path` (generated code gives them), else unknown. */
function resourcesOf(options: ClientOptions): Record<string, string> | undefined {
  if (options.resources) return options.resources;
  const models = Object.entries(options.models ?? {});
  if (models.length === 0 || models.some(([, meta]) => meta.path === undefined)) return undefined;
  return Object.fromEntries(models.map(([model, meta]) => [model, meta.path as string]));
}

/** Creates a client. `Schema` maps model names to their types (generated by `ssot generate --target ts`). */
export function createClient<S extends SchemaTypes = UntypedSchema>(options: ClientOptions): SsotClient<S> {
  return new SsotClient<S>(options);
}
