/**
 * `HttpTransport`: operations over the REST API with `fetch`. Owns the mapping of an `Operation` to its route
 * (docs/rest.md), request timeouts (an aborted fetch), reading `x-ssot-seq`, turning problem+json answers into
 * `SsotError`s, and retrying once with a refreshed session after a 401.
 */
import { NetworkError, SsotError, TimeoutError, toProblem } from './errors.js';
import type { TokenManager } from './tokens.js';
import type { BatchResult, DataClient, IdValue, Obj, Operation, OperationResult, RequestOptions } from './types.js';

export interface HttpTransportOptions {
  /** The server's base URL (`http://localhost:4000`). */
  url: string;
  tokens: TokenManager;
  /** Default request timeout (ms). */
  timeoutMs: number;
  /** Model → resource path (`{ Post: '/api/posts' }`); read from `GET /api` when not given. */
  resources?: Record<string, string>;
  fetch?: typeof fetch;
}

/** An id in a path: a compound id's parts percent-encoded and joined by `,`. */
export function idPath(key: IdValue): string {
  const parts = Array.isArray(key) ? key : [key];
  return parts.map((part) => encodeURIComponent(String(part))).join(',');
}

function query(args: Obj | undefined, names: string[]): string {
  const params = new URLSearchParams();
  for (const name of names) {
    const value = args?.[name];
    if (value !== undefined) params.set(name, JSON.stringify(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export interface SendOptions extends RequestOptions {
  /** Send no `Authorization` header. */
  anonymous?: boolean;
  /** A token to send instead of the current one. */
  token?: string;
}

interface Route {
  method: string;
  path: string;
  body?: unknown;
}

export class HttpTransport implements DataClient {
  private resources: Promise<Record<string, string>> | undefined;
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: HttpTransportOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    if (options.resources) this.resources = Promise.resolve(options.resources);
  }

  async request(op: Operation, options: RequestOptions = {}): Promise<OperationResult> {
    const route = await this.route(op, options);
    return this.send(route.method, route.path, route.body, options);
  }

  async batch(ops: Operation[], options: RequestOptions = {}): Promise<BatchResult> {
    const operations = await Promise.all(ops.map((op) => this.route(op, options)));
    const result = await this.send('POST', '/api/$batch', { operations }, options);
    const body = result.body as { results?: OperationResult[] };
    return { results: body.results ?? [], ...(result.seq !== undefined ? { seq: result.seq } : {}) };
  }

  action(name: string, data: unknown, options: RequestOptions = {}): Promise<OperationResult> {
    return this.send('POST', `/api/actions/${encodeURIComponent(name)}`, data ?? {}, options);
  }

  /** A request to any path under the server (the auth endpoints use it). */
  async send(method: string, path: string, body: unknown, options: SendOptions = {}, retried = false): Promise<OperationResult> {
    // Signing in and refreshing go without a token: asking for one could wait on the refresh itself.
    const token = options.anonymous ? undefined : await this.options.tokens.get();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const bearer = options.token ?? token;
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = (): void => controller.abort();
    options.signal?.addEventListener('abort', onAbort);
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(this.base + path, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: controller.signal,
      });
      text = await response.text();
    } catch (error) {
      if (timedOut) throw new TimeoutError(timeoutMs);
      throw new NetworkError(error instanceof Error ? error.message : String(error), error);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!response.ok) {
      // An expired access token between our check and the server's: refresh once and try again.
      if (response.status === 401 && !retried && token && !options.token && this.options.tokens.currentSession) {
        if (await this.options.tokens.refresh()) return this.send(method, path, body, options, true);
      }
      throw new SsotError(toProblem(parsed, response.status), response.status);
    }
    const seqHeader = response.headers.get('x-ssot-seq');
    const result: OperationResult = { status: response.status, body: parsed };
    if (seqHeader !== null && seqHeader !== '') result.seq = Number(seqHeader);
    return result;
  }

  close(): void {
    // Nothing held open: each request is its own fetch.
  }

  /** Where an operation goes: its method, path with query string, and body. */
  private async route(op: Operation, options: RequestOptions): Promise<Route> {
    const resource = await this.resourcePath(op.model, options);
    const needKey = (): string => {
      if (op.key === undefined) throw new TypeError(`${op.model}.${op.action} needs a key`);
      return `${resource}/${idPath(op.key)}`;
    };
    const shape = ['select', 'include'];
    switch (op.action) {
      case 'list':
        return { method: 'POST', path: `${resource}/query`, body: op.args ?? {} };
      case 'get':
        return { method: 'GET', path: needKey() + query(op.args, shape) };
      case 'count':
        return { method: 'GET', path: `${resource}/count${query(op.args, ['where'])}` };
      case 'create':
        return { method: 'POST', path: resource + query(op.args, shape), body: op.data ?? {} };
      case 'update':
        return { method: 'PATCH', path: needKey() + query(op.args, shape), body: op.data ?? {} };
      case 'delete':
        return { method: 'DELETE', path: needKey() + query(op.args, shape) };
      case 'createMany':
        return { method: 'POST', path: `${resource}/bulk`, body: { data: op.data ?? [] } };
      case 'updateMany':
        return { method: 'PATCH', path: `${resource}/bulk`, body: { where: op.args?.where ?? {}, data: op.data ?? {} } };
      case 'deleteMany':
        return { method: 'DELETE', path: `${resource}/bulk`, body: { where: op.args?.where ?? {} } };
    }
  }

  /** The model's resource path, from the server's index (`GET /api`), read once: it pluralizes as it likes. */
  private async resourcePath(model: string, options: RequestOptions): Promise<string> {
    this.resources ??= this.send('GET', '/api', undefined, options).then((result) => {
      const index = result.body as { resources?: Array<{ model: string; path: string }> };
      return Object.fromEntries((index.resources ?? []).map((r) => [r.model, r.path]));
    });
    let resources: Record<string, string>;
    try {
      resources = await this.resources;
    } catch (error) {
      this.resources = undefined; // try again next time
      throw error;
    }
    const path = resources[model];
    if (!path) throw new SsotError({ status: 404, code: 'unknown_model', detail: `no model \`${model}\` on the server` });
    return path;
  }
}
