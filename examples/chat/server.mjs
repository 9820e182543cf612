// The app's server: renders the first page on the server as the signed-in user (their access token from the
// `chat_token` cookie) and serves the browser's bundle. Development: Vite in middleware mode (hot reload, the
// renderer loaded through Vite); production (`--prod` or NODE_ENV=production): dist/ as `npm run build` wrote it.
//
//   node server.mjs [--prod] [--port 3000] [--api http://127.0.0.1:4000]
import { readFileSync, existsSync, createReadStream } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json' };

function cookie(header, name) {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** Starts the app server; resolves with its URL and a `close()`. */
export async function startAppServer({ prod = false, port = 3000, host = '127.0.0.1', apiUrl, serverApiUrl, log = console.log } = {}) {
  let vite;
  let template;
  let render;
  if (prod) {
    const dist = path.join(here, 'dist');
    if (!existsSync(path.join(dist, 'server/entry-server.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    template = readFileSync(path.join(dist, 'client/index.html'), 'utf8');
    ({ render } = await import(pathToFileURL(path.join(dist, 'server/entry-server.js')).href));
  } else {
    const { createServer } = await import('vite');
    vite = await createServer({ configFile: path.join(here, 'vite.config.ts'), server: { middlewareMode: true }, appType: 'custom' });
  }

  const page = async (req, res) => {
    const url = req.url ?? '/';
    let html = template;
    let renderer = render;
    if (vite) {
      html = await vite.transformIndexHtml(url, readFileSync(path.join(here, 'app/index.html'), 'utf8'));
      ({ render: renderer } = await vite.ssrLoadModule('/src/entry-server.tsx'));
    }
    const token = cookie(req.headers.cookie, 'chat_token');
    const started = performance.now();
    const out = await renderer(url, { apiUrl, serverApiUrl, token });
    const boot = JSON.stringify(out.boot).replace(/</g, '\\u003c');
    html = html.replace('<!--app-html-->', out.html).replace('<!--app-boot-->', `<script>window.__CHAT__ = ${boot}</script>`);
    res.writeHead(out.status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'server-timing': `ssr;dur=${(performance.now() - started).toFixed(1)}`,
    });
    res.end(html);
  };

  const statics = (req, res) => {
    const file = path.join(here, 'dist/client', decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!file.startsWith(path.join(here, 'dist/client') + path.sep) || !existsSync(file) || file.endsWith('.html')) return false;
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'public, max-age=31536000, immutable' });
    createReadStream(file).pipe(res);
    return true;
  };

  const server = http.createServer((req, res) => {
    const fail = (error) => {
      vite?.ssrFixStacktrace(error);
      log(`app: ${req.method} ${req.url}: ${error.stack ?? error}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Internal error');
    };
    const go = () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      if (prod && req.url.startsWith('/assets/') && statics(req, res)) return;
      page(req, res).catch(fail);
    };
    if (vite) vite.middlewares(req, res, go);
    else go();
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const url = `http://${host}:${server.address().port}`;
  return {
    url,
    async close() {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
      await vite?.close();
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const arg = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const prod = args.includes('--prod') || process.env.NODE_ENV === 'production';
  const app = await startAppServer({
    prod,
    port: Number(arg('--port', process.env.PORT ?? 3000)),
    apiUrl: arg('--api', process.env.CHAT_API_URL ?? 'http://127.0.0.1:4000'),
  });
  console.log(`app: listening on ${app.url} (${prod ? 'production build' : 'development, Vite'})`);
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => app.close().then(() => process.exit(0)));
}
