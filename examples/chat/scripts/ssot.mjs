// Finding and running `ssot`: the binary from $SSOT_BIN, else the workspace's debug build (../../target/debug,
// or $CARGO_TARGET_DIR/debug), else `ssot` on the PATH.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHAT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA = path.join(CHAT_DIR, 'schema.prisma');

export function ssotBin() {
  if (process.env.SSOT_BIN) return process.env.SSOT_BIN;
  const candidates = [process.env.CARGO_TARGET_DIR && path.resolve(CHAT_DIR, '../..', process.env.CARGO_TARGET_DIR, 'debug/ssot'), path.resolve(CHAT_DIR, '../../target/debug/ssot')];
  for (const c of candidates) if (c && existsSync(c)) return c;
  return 'ssot';
}

/** `ssot generate --target react` into app/src/ssot (the typed client and hooks the app imports). */
export function generate() {
  execFileSync(ssotBin(), ['generate', SCHEMA, '--out', path.join(CHAT_DIR, 'app/src/ssot'), '--target', 'react'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** A port free now on the loopback (for a server that must come back on the same one). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * `ssot serve` on the chat's schema and a SQLite file; resolves once it listens. `onLine` hears its output.
 * Returns `{ url, process, stop() }` (stop: SIGTERM, then wait for the exit).
 */
export async function startSsot({ database, port, corsOrigin, adminKey, env = {}, onLine = () => {} }) {
  const args = ['serve', SCHEMA, '--database', `sqlite:${database}`, '--listen', `127.0.0.1:${port}`];
  for (const origin of [corsOrigin ?? []].flat()) args.push('--cors-origin', origin);
  if (adminKey) args.push('--admin-key', adminKey);
  const child = spawn(ssotBin(), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
  let seen = '';
  const listening = new Promise((resolve, reject) => {
    const read = (chunk) => {
      const text = chunk.toString();
      seen += text;
      for (const line of text.split('\n')) if (line.trim()) onLine(line);
      const match = /listening on http:\/\/[^\s:]+:(\d+)/.exec(seen);
      if (match) resolve(Number(match[1]));
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`ssot serve exited (${code}) before listening:\n${seen}`)));
  });
  const actual = await listening;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    process: child,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
}
