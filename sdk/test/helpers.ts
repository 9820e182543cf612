/**
 * Test helpers: clients on a server (Node's `ws` as the WebSocket), signing users up, a WebSocket that records
 * every message it sends and receives, and waiting for a condition with a deadline (so a test that should fail
 * fails rather than hangs).
 */
import WebSocket from 'ws';
import { createClient, type ClientOptions, type Obj, type SsotClient, type WebSocketConstructor } from '../src/index.js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { ADMIN_KEY, Server, type ServerOptions } from './server.js';

/** The test schema's types, as generated code would give them. */
export interface Post {
  id: number;
  title: string;
  published: boolean;
  views: number;
  authorId: string;
}
export interface Room {
  id: number;
  name: string;
}
export type Schema = {
  Post: {
    row: Post;
    where: { [K in keyof Post]?: Post[K] | { [op: string]: unknown } } & { AND?: unknown; OR?: unknown; NOT?: unknown };
    create: Partial<Post>;
    update: Partial<Post>;
    searchable: true;
  };
  Room: { row: Room };
  User: { row: { id: string; email: string; name: string | null } };
};

const clients: Array<SsotClient<Schema>> = [];

export function client(url: string, options: Partial<ClientOptions> = {}): SsotClient<Schema> {
  const c = createClient<Schema>({ url, WebSocket, timeoutMs: 10_000, ...options });
  clients.push(c);
  return c;
}

export function adminClient(url: string, options: Partial<ClientOptions> = {}): SsotClient<Schema> {
  return client(url, { token: ADMIN_KEY, transport: 'http', ...options });
}

let users = 0;

/** A client signed in as a new user. */
export async function userClient(url: string, options: Partial<ClientOptions> = {}): Promise<SsotClient<Schema>> {
  const c = client(url, options);
  users += 1;
  await c.auth.signup({ email: `user${users}-${Date.now()}@example.com`, password: 'correct horse battery' });
  return c;
}

/** The id of the user a client is signed in as. */
export function userId(c: { auth: { session?: { user: unknown } | undefined } }): string {
  return (c.auth.session!.user as { id: string }).id;
}

export function disconnectAll(): void {
  for (const c of clients.splice(0)) c.$disconnect();
}

/**
 * The server of a test file: started before its tests, every client disconnected after each test, stopped after
 * the last. `url` and `port` read it once it runs.
 */
export function fileServer(options: ServerOptions = {}): Pick<Server, 'url' | 'port'> {
  let server: Server | undefined;
  beforeAll(async () => {
    server = await Server.start(options);
  });
  afterEach(() => disconnectAll());
  afterAll(async () => {
    await server?.dispose();
  });
  const running = (): Server => {
    if (!server) throw new Error('the file server starts before the tests');
    return server;
  };
  return {
    get url() {
      return running().url;
    },
    get port() {
      return running().port;
    },
  };
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What a recording WebSocket saw, one protocol message per entry (frames holding arrays are split). */
export interface Wire {
  sent: Obj[];
  received: Obj[];
  /** How many sockets the client opened (1 while it never reconnected). */
  opened: number;
}

/** `ws`'s WebSocket, recording every message in `wire` (to check what the client asked and what the server sent). */
export function recordingWebSocket(): { WebSocket: WebSocketConstructor; wire: Wire } {
  const wire: Wire = { sent: [], received: [], opened: 0 };
  class Recording extends WebSocket {
    constructor(url: string, protocols: string) {
      super(url, protocols);
      wire.opened += 1;
      this.addEventListener('message', (event) => {
        const parsed = JSON.parse(String(event.data)) as Obj | Obj[];
        wire.received.push(...(Array.isArray(parsed) ? parsed : [parsed]));
      });
    }
  }
  const send = Recording.prototype.send;
  Recording.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
    wire.sent.push(JSON.parse(String(data)) as Obj);
    return (send as (...args: unknown[]) => void).call(this, data, ...rest);
  } as typeof send;
  return { WebSocket: Recording, wire };
}
