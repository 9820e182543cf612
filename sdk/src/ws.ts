/**
 * `WebSocketTransport`: one `ssot.v1` socket and its life. Owns connecting (credentials in `?token=`),
 * reconnecting with backoff and jitter until `close()`, matching answers to requests by id, request timeouts,
 * a heartbeat that notices a dead connection, and re-authenticating (`auth`) before the token expires.
 * Live queries and channels ride on it through `onOpen` and `onMessage` (live.ts, channels.ts).
 */
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { ClosedError, ConnectionLostError, SsotError, TimeoutError } from './errors.js';
import { unref, type TokenManager } from './tokens.js';
import type {
  BatchResult,
  DataClient,
  Obj,
  Operation,
  OperationResult,
  RequestOptions,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';

export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What the socket reports on each change of status: the close code and the delay before the next attempt. */
export interface StatusInfo {
  status: ConnectionStatus;
  closeCode?: number;
  closeReason?: string;
  /** For `reconnecting`: the number of the attempt about to be made (1 for the first) and its delay. */
  attempt?: number;
  delayMs?: number;
}

export interface WebSocketTransportOptions {
  /** The server's base URL (`http://localhost:4000`); the socket is at `/api/ws` on it. */
  url: string;
  /** The socket's URL, when it is not `<url>/api/ws` with `ws:`/`wss:`. */
  wsUrl?: string;
  tokens: TokenManager;
  WebSocket?: WebSocketConstructor;
  timeoutMs: number;
  backoff?: BackoffOptions;
  /** A `ping` this often; no frame for two periods closes and reconnects (default 20 s). */
  heartbeatMs?: number;
  /** Re-authenticate this long before the token's expiry (default 30 s, at most half its remaining life). */
  reauthMarginMs?: number;
}

interface Pending {
  resolve: (result: OperationResult) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
  message: Obj;
  sent: boolean;
}

const OPEN = 1;
/** A status for protocol `error` codes, so that a failure over the socket reads like the same one over HTTP. */
const ERROR_STATUS: Record<string, number> = { unknown_model: 404, unknown_action: 400, invalid_request: 400 };

export function socketUrl(url: string): string {
  const base = url.replace(/\/+$/, '').replace(/^http(s?):/, 'ws$1:');
  return `${base}/api/ws`;
}

export class WebSocketTransport implements DataClient {
  status: ConnectionStatus = 'idle';
  /** The caller the server recognised (`ready`/`authenticated`). */
  caller: Obj | undefined;
  private socket: WebSocketLike | undefined;
  private token: string | undefined;
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private reauthTimer: ReturnType<typeof setTimeout> | undefined;
  private lastFrameAt = 0;
  private refreshOnReconnect = false;
  /** The credentials changed while connecting, after this connection read them (see `tokenChanged`). */
  private tokenStale = false;
  private readonly messageListeners = new Set<(message: Obj) => void>();
  private readonly openListeners = new Set<() => void>();
  private readonly statusListeners = new Set<(info: StatusInfo) => void>();
  private readonly stopTokens: () => void;

  constructor(private readonly options: WebSocketTransportOptions) {
    this.stopTokens = options.tokens.onChange((token) => this.tokenChanged(token));
  }

  get isOpen(): boolean {
    return this.status === 'open';
  }

  onMessage(listener: (message: Obj) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  /** Called after every `ready`, the first and each after a reconnection: resubscribe and rejoin here. */
  onOpen(listener: () => void): () => void {
    this.openListeners.add(listener);
    return () => this.openListeners.delete(listener);
  }

  onStatus(listener: (info: StatusInfo) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Starts connecting, unless connected, connecting or closed. */
  connect(): void {
    if (this.status === 'idle') void this.open();
  }

  /** Sends a message now when open; false otherwise (the caller waits for `onOpen`). */
  send(message: Obj): boolean {
    // A socket the server is closing still reads 'open' here until its close event; sending on it would
    // throw or log in browsers, and the message is sent again after the reconnect anyway.
    if (this.status !== 'open' || !this.socket || this.socket.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  request(op: Operation, options: RequestOptions = {}): Promise<OperationResult> {
    return this.call({ type: 'request', model: op.model, action: op.action, key: op.key, args: op.args, data: op.data }, options);
  }

  action(name: string, data: unknown, options: RequestOptions = {}): Promise<OperationResult> {
    return this.call({ type: 'request', action: '$action', name, data: data ?? {} }, options);
  }

  async batch(ops: Operation[], options: RequestOptions = {}): Promise<BatchResult> {
    const operations = ops.map((op) => ({ model: op.model, action: op.action, key: op.key, args: op.args, data: op.data }));
    const result = await this.call({ type: 'request', action: '$batch', operations }, options);
    const body = result.body as { results?: OperationResult[] };
    return { results: body.results ?? [], ...(result.seq !== undefined ? { seq: result.seq } : {}) };
  }

  /** Closes the socket for good: pending requests fail with `ClosedError`, no reconnection follows. */
  close(): void {
    if (this.status === 'closed') return;
    this.setStatus({ status: 'closed' });
    this.stopTokens();
    clearTimeout(this.reconnectTimer);
    this.stopTimers();
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new ClosedError());
      this.pending.delete(id);
    }
    const socket = this.socket;
    this.socket = undefined;
    if (socket) socket.close(1000, 'client disconnect');
  }

  /** Drops the current connection as a network failure would, and reconnects (tests, "retry now" buttons). */
  reconnect(): void {
    if (this.socket) this.lost(this.socket, 4000, 'client reconnect');
  }

  private call(message: Obj, options: RequestOptions): Promise<OperationResult> {
    if (this.status === 'closed') return Promise.reject(new ClosedError());
    const id = `r${this.nextId++}`;
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    return new Promise<OperationResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(timeoutMs));
      }, timeoutMs);
      const pending: Pending = { resolve, reject, timer, message: { ...message, id }, sent: false };
      this.pending.set(id, pending);
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(options.signal?.reason ?? new Error('aborted'));
      });
      // Sent now when open; otherwise when the connection is ready (see `ready`).
      if (this.send(pending.message)) pending.sent = true;
      else this.connect();
    });
  }

  private setStatus(info: StatusInfo): void {
    this.status = info.status;
    for (const listener of this.statusListeners) listener(info);
  }

  private async open(): Promise<void> {
    this.setStatus({ status: 'connecting' });
    if (this.refreshOnReconnect) {
      // The server refused the token (4401): a session gets a new one before we try again.
      this.refreshOnReconnect = false;
      await this.options.tokens.refresh();
    }
    let token: string | undefined;
    do {
      // `get` reads the session before its first await: one set meanwhile (a stored session restored right after
      // `createClient`, whose hybrid socket opens in the constructor) makes this one stale; read it again.
      this.tokenStale = false;
      try {
        token = await this.options.tokens.get();
      } catch {
        token = undefined;
      }
    } while (this.tokenStale && this.status === 'connecting');
    if (this.status !== 'connecting') return; // closed meanwhile
    const Ctor = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) throw new TypeError('no WebSocket: pass the `WebSocket` option (e.g. from the `ws` package in Node)');
    let url = this.options.wsUrl ?? socketUrl(this.options.url);
    if (token) url += `${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
    this.token = token;
    let socket: WebSocketLike;
    try {
      socket = new Ctor(url, 'ssot.v1');
    } catch (error) {
      this.scheduleReconnect(0, String(error));
      return;
    }
    this.socket = socket;
    this.lastFrameAt = Date.now();
    // Listeners stay on a replaced socket; each checks that its socket is still the current one.
    socket.addEventListener('message', (event) => this.frame(socket, event.data));
    socket.addEventListener('close', (event) => this.lost(socket, event.code, event.reason));
    socket.addEventListener('error', () => {
      // A close event follows every error; reconnection is decided there.
    });
  }

  private frame(socket: WebSocketLike, data: unknown): void {
    if (socket !== this.socket) return;
    this.lastFrameAt = Date.now();
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof data === 'string' ? data : String(data));
    } catch {
      return; // The server sends only JSON; anything else is not ours to act on.
    }
    // A frame is one message, or several that were ready together.
    for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
      if (message && typeof message === 'object') this.dispatch(message as Obj);
    }
  }

  private dispatch(message: Obj): void {
    switch (message.type) {
      case 'ready':
        return this.ready(message);
      case 'authenticated':
        this.caller = message.caller as Obj;
        this.scheduleReauth();
        break;
      case 'pong':
        return;
      case 'response':
        return this.answer(message);
      case 'error': {
        const pending = message.id !== undefined ? this.pending.get(String(message.id)) : undefined;
        if (pending) {
          const code = String(message.code);
          this.settle(String(message.id));
          const problem = (message.problem as Obj | undefined) ?? {};
          pending.reject(new SsotError({ status: ERROR_STATUS[code] ?? 400, code, detail: String(message.message), ...problem }));
          return;
        }
        break;
      }
    }
    for (const listener of this.messageListeners) listener(message);
  }

  private ready(message: Obj): void {
    this.caller = message.caller as Obj;
    this.attempt = 0;
    this.setStatus({ status: 'open' });
    if (this.tokenStale) {
      // The credentials changed during the handshake: the new ones first, so that what follows runs as them.
      this.tokenStale = false;
      void this.options.tokens.get().then((token) => this.tokenChanged(token));
    }
    this.startHeartbeat();
    this.scheduleReauth();
    // Subscriptions and channels first, so that they stand before any queued write is answered.
    for (const listener of this.openListeners) listener();
    for (const pending of this.pending.values()) {
      if (!pending.sent && this.send(pending.message)) pending.sent = true;
    }
  }

  private answer(message: Obj): void {
    const id = String(message.id);
    const pending = this.pending.get(id);
    if (!pending) return; // timed out already
    this.settle(id);
    const status = Number(message.status);
    if (status >= 400) {
      pending.reject(new SsotError((message.problem as Obj | undefined) ?? { status }, status));
      return;
    }
    const result: OperationResult = { status, body: message.body };
    if (typeof message.seq === 'number') result.seq = message.seq;
    pending.resolve(result);
  }

  private settle(id: string): void {
    const pending = this.pending.get(id);
    if (pending) clearTimeout(pending.timer);
    this.pending.delete(id);
  }

  /** The connection ended (closed by the server, the network, or the heartbeat): fail what was sent, retry. */
  private lost(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    if (socket.readyState === OPEN || socket.readyState === 0) {
      try {
        socket.close(4000, reason);
      } catch {
        // Already closing.
      }
    }
    this.stopTimers();
    for (const [id, pending] of this.pending) {
      if (!pending.sent) continue; // not sent: it goes on the next connection
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(new ConnectionLostError());
    }
    if (this.status === 'closed') return;
    if (code === 4401) this.refreshOnReconnect = true;
    this.scheduleReconnect(code, reason);
  }

  private scheduleReconnect(code: number, reason: string): void {
    const delayMs = backoffDelay(this.attempt, this.options.backoff);
    this.attempt += 1;
    this.setStatus({ status: 'reconnecting', closeCode: code, closeReason: reason, attempt: this.attempt, delayMs });
    this.reconnectTimer = setTimeout(() => {
      if (this.status === 'reconnecting') void this.open();
    }, delayMs);
  }

  private stopTimers(): void {
    clearInterval(this.heartbeat);
    clearTimeout(this.reauthTimer);
    this.heartbeat = undefined;
    this.reauthTimer = undefined;
  }

  private startHeartbeat(): void {
    const period = this.options.heartbeatMs ?? 20_000;
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      const socket = this.socket;
      if (!socket) return;
      // Nothing for two periods, not even our pong: the connection is dead without having said so.
      if (Date.now() - this.lastFrameAt > 2 * period) this.lost(socket, 4008, 'heartbeat timeout');
      else this.send({ type: 'ping' });
    }, period);
    unref(this.heartbeat);
  }

  /** Sends a fresh token before the server's 4401 at expiry. */
  private scheduleReauth(): void {
    clearTimeout(this.reauthTimer);
    const expiresAt = this.caller?.expiresAt;
    if (typeof expiresAt !== 'number') return;
    const remaining = expiresAt * 1000 - Date.now();
    const margin = Math.min(this.options.reauthMarginMs ?? 30_000, remaining / 2);
    this.reauthTimer = setTimeout(() => {
      void this.options.tokens.get().then((token) => this.tokenChanged(token));
    }, Math.max(0, remaining - margin));
    unref(this.reauthTimer);
  }

  private tokenChanged(token: string | undefined): void {
    if (token === this.token) return;
    if (this.status === 'connecting') this.tokenStale = true; // this connection may have read the old ones
    if (this.status !== 'open') return; // the next connection takes the token as it is then
    if (token === undefined) {
      // Signed out: a fresh anonymous connection (the protocol has no "forget my token").
      this.token = undefined;
      this.reconnect();
      return;
    }
    this.token = token;
    this.send({ type: 'auth', token });
  }
}
