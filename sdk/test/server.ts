/**
 * Test helper: a real `ssot serve` (or `ssot dev`) on a temporary SQLite database (the binary from `SSOT_BIN`,
 * default `../target/debug/ssot`), its address read from the line where it says it listens, stopped after the
 * test. Under `ssot dev`, a test rewrites the schema and waits for the new version to be served.
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
  /** `dev`: `ssot dev --no-client`, following its schema file (`editSchema`); its stdin a pipe (`process.stdin`). */
  command?: 'serve' | 'dev';
}

export class Server {
  private constructor(
    readonly process: ChildProcess,
    readonly dir: string,
    readonly port: number,
    private readonly ownsDir: boolean,
    private readonly log: Output,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The schema file it serves (`ssot dev` follows it). */
  get schemaPath(): string {
    return path.join(this.dir, 'schema.prisma');
  }

  /** Everything it printed so far (stdout and stderr). */
  get output(): string {
    return this.log.text;
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
    const command = options.command ?? 'serve';
    const args = [command, schemaPath, '--database', `sqlite:${path.join(dir, 'db.sqlite')}`];
    args.push('--listen', `127.0.0.1:${options.port ?? 0}`, '--admin-key', ADMIN_KEY, '--jwt-secret', JWT_SECRET);
    if (command === 'dev') args.push('--no-client');
    const child = spawn(bin, args, {
      // `ssot dev` asks on its stdin before a migration that loses data.
      stdio: [command === 'dev' ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', ...SERVICE_ENV, ...options.env },
    });
    // Read all it prints, to the end, so that it never blocks on a full pipe.
    const log = new Output(child, `ssot ${command}`);
    const port = Number((await log.waitFor(/listening on http:\/\/[^\s:]+:(\d+)/, 0, 60_000, 'listening'))[1]);
    return new Server(child, dir, port, options.dir === undefined, log);
  }

  /**
   * `ssot dev`: rewrites the schema file with `edit` and waits until it says it serves the new version; rejects
   * with what it printed meanwhile when it does not (an invalid schema, a question on stdin, an exit).
   */
  async editSchema(edit: (schema: string) => string, timeoutMs = 30_000): Promise<void> {
    const before = readFileSync(this.schemaPath, 'utf8');
    const after = edit(before);
    if (after === before) throw new Error('the edit leaves the schema as it is');
    const from = this.log.text.length;
    writeFileSync(this.schemaPath, after);
    await this.log.waitFor(/serving the new version/, from, timeoutMs, 'the new version served');
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

/** What a server printed (stdout and stderr together), and waiting for a line of it. */
class Output {
  text = '';
  private exit: string | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(child: ChildProcess, name: string) {
    const read = (chunk: Buffer): void => {
      this.text += chunk.toString();
      for (const l of this.listeners) l();
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.on('error', (error) => {
      this.exit ??= `${name} failed: ${error.message}`;
      for (const l of this.listeners) l();
    });
    child.on('exit', (code, signal) => {
      this.exit ??= `${name} exited (${code ?? signal})`;
      for (const l of this.listeners) l();
    });
  }

  /** The first match of `pattern` in what was printed from offset `from` on. */
  waitFor(pattern: RegExp, from: number, timeoutMs: number, what: string): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      const check = (): void => {
        const match = pattern.exec(this.text.slice(from));
        if (match) {
          done();
          resolve(match);
        } else if (this.exit !== undefined) {
          done();
          reject(new Error(`${this.exit} before ${what}:\n${this.text.slice(from)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${this.text.slice(from)}`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
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
