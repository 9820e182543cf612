/**
 * Test helper: a real `ssot serve` on a temporary SQLite database (the binary from `SSOT_BIN`, default
 * `../target/debug/ssot`), its address read from the line where it says it listens, stopped after the test.
 * Also a TCP proxy in front of it, so that a test can cut the client's connections the way a network does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** sdk/ (vitest runs this file from its source, sdk/test/). */
export const SDK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ADMIN_KEY = 'test-admin-key-0123456789';
export const JWT_SECRET = 'sdk-test-jwt-secret-0123456789abcdef';

/** The fixture's `@@service` (actions only): nowhere by default; `actions.test.ts` points it at its receiver. */
const SERVICE_ENV = { SDK_SERVICE_URL: 'http://127.0.0.1:9', SDK_SERVICE_SECRET: 'sdk-test-service-secret-0123456789' };

export interface ServerOptions {
  /** The access tokens' lifetime (`@@auth` `expiry`), default 15m. */
  tokenExpiry?: string;
  /** Reuse this directory's database (a restart). */
  dir?: string;
  /** Listen on this port (a restart on the same address). */
  port?: number;
  /** More environment for the server (`SSOT_LOG_POLL_MS`: how often it looks for other processes' writes). */
  env?: Record<string, string>;
}

export class Server {
  private constructor(
    readonly process: ChildProcess,
    readonly dir: string,
    readonly port: number,
    private readonly ownsDir: boolean,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(options: ServerOptions = {}): Promise<Server> {
    const bin = process.env.SSOT_BIN ?? path.resolve(SDK_DIR, '../target/debug/ssot');
    const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'ssot-sdk-'));
    const schema = readFileSync(path.join(SDK_DIR, 'test/fixtures/app.prisma'), 'utf8').replace(
      'expiry: "15m"',
      `expiry: "${options.tokenExpiry ?? '15m'}"`,
    );
    const schemaPath = path.join(dir, 'schema.prisma');
    writeFileSync(schemaPath, schema);
    const args = ['serve', schemaPath, '--database', `sqlite:${path.join(dir, 'db.sqlite')}`];
    args.push('--listen', `127.0.0.1:${options.port ?? 0}`, '--admin-key', ADMIN_KEY, '--jwt-secret', JWT_SECRET);
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...SERVICE_ENV, ...options.env } });
    const port = await new Promise<number>((resolve, reject) => {
      let seen = '';
      const read = (chunk: Buffer): void => {
        seen += chunk.toString();
        const match = /listening on http:\/\/[^\s:]+:(\d+)/.exec(seen);
        if (match) resolve(Number(match[1]));
      };
      child.stdout?.on('data', read);
      child.stderr?.on('data', read);
      child.on('error', reject);
      child.on('exit', (code) => reject(new Error(`ssot serve exited (${code}) before listening:\n${seen}`)));
    });
    // Keep draining its output so that it never blocks on a full pipe.
    child.stdout?.resume();
    child.stderr?.resume();
    return new Server(child, dir, port, options.dir === undefined);
  }

  /** SIGTERM, and wait for it to exit (it closes its sockets with 1001). */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.process.kill('SIGCONT');
    this.process.kill('SIGTERM');
    await exited;
  }

  /** Stops it and removes its directory (unless the directory was given). */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Freezes it (SIGSTOP): connections stay open, nothing answers. */
  pause(): void {
    this.process.kill('SIGSTOP');
  }

  resume(): void {
    this.process.kill('SIGCONT');
  }
}

/**
 * A TCP proxy to the server: `cut()` drops every connection; `refuse` drops new ones at once; `delayMs` holds
 * back what the server sends (a slow network towards the client).
 */
export class Proxy {
  refuse = false;
  delayMs = 0;
  connections = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(targetPort: number): Promise<Proxy> {
    let proxy: Proxy | undefined;
    const server = net.createServer((client) => {
      if (!proxy || proxy.refuse) {
        client.destroy();
        return;
      }
      proxy.connections += 1;
      const upstream = net.connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('close', () => {
          proxy?.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        // Equal delays keep the order: timers of one duration fire in the order they were set.
        if (proxy && proxy.delayMs > 0) setTimeout(() => client.write(chunk), proxy.delayMs);
        else client.write(chunk);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new Proxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
