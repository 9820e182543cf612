// One command for the whole example: the webhook receiver, `ssot serve` on the chat's schema (its database in
// data/chat.db, webhooks to the receiver) and the app server (server rendering + the browser's bundle).
//
//   npm start            production build (npm run build first, done here when dist/ is missing)
//   npm run dev          Vite in middleware mode (hot reload)
// Ports: APP_PORT (3000), API_PORT (4000), WEBHOOK_PORT (4100).
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startAppServer } from '../server.mjs';
import { startReceiver } from '../webhook-receiver.mjs';
import { CHAT_DIR, generate, startSsot } from './ssot.mjs';

const dev = process.argv.includes('--dev');
const appPort = Number(process.env.APP_PORT ?? 3000);
const apiPort = Number(process.env.API_PORT ?? 4000);
const webhookPort = Number(process.env.WEBHOOK_PORT ?? 4100);
// A Standard Webhooks secret (`whsec_` and base64); set CHAT_WEBHOOK_SECRET for your own.
const secret = process.env.CHAT_WEBHOOK_SECRET ?? `whsec_${Buffer.from('chat-example-webhook-secret-0123').toString('base64')}`;

if (dev) generate();
else if (!existsSync(path.join(CHAT_DIR, 'dist/server/entry-server.js'))) execSync('npm run build', { cwd: CHAT_DIR, stdio: 'inherit' });

const receiver = await startReceiver({ port: webhookPort, secret });
console.log(`webhook receiver: ${receiver.url}`);
mkdirSync(path.join(CHAT_DIR, 'data'), { recursive: true });
const appOrigin = `http://localhost:${appPort}`;
const api = await startSsot({
  database: path.join(CHAT_DIR, 'data/chat.db'),
  port: apiPort,
  corsOrigin: [appOrigin, `http://127.0.0.1:${appPort}`],
  env: { CHAT_WEBHOOK_URL: `${receiver.url}/chat`, CHAT_WEBHOOK_SECRET: secret },
  // Its start-up lines, warnings and errors (not one line per request: SSOT_LOG_REQUESTS=1 shows those too).
  onLine: (line) => (process.env.SSOT_LOG_REQUESTS || !/ INFO ssot_server::http: request /.test(line)) && console.log(`ssot: ${line}`),
});
const app = await startAppServer({ prod: !dev, port: appPort, host: '127.0.0.1', apiUrl: api.url, serverApiUrl: api.url });
console.log(`\nChat: ${appOrigin}  (API ${api.url}, ${dev ? 'development' : 'production build'}; Ctrl-C stops everything)\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([app.close(), api.stop(), receiver.close()]);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
api.process.on('exit', (code) => {
  if (!stopping) {
    console.error(`ssot serve exited (${code})`);
    void stop();
  }
});
