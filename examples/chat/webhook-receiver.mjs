// A tiny webhook receiver for the chat's `@@service("webhook", ...)` on Message: it logs each delivery, and
// whether its signature verifies with CHAT_WEBHOOK_SECRET (an HMAC-SHA256 of the body). It accepts the
// Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` over
// `id.timestamp.body`) and a plain `x-ssot-signature` / `x-signature: sha256=<hex>` over the body.
//
//   CHAT_WEBHOOK_SECRET=... node webhook-receiver.mjs [--port 4100]
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { pathToFileURL } from 'node:url';

const same = (a, b) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Whether the delivery's signature verifies: `true`, `false`, or `null` when it carries none we know. */
export function verify(headers, body, secret) {
  if (!secret) return null;
  const standard = headers['webhook-signature'];
  if (standard && headers['webhook-id'] && headers['webhook-timestamp']) {
    const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret);
    const expected = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64');
    return String(standard).split(' ').some((s) => same(s.replace(/^v1,/, ''), expected));
  }
  const plain = headers['x-ssot-signature'] ?? headers['x-signature'] ?? headers['x-hub-signature-256'];
  if (plain) {
    const expected = createHmac('sha256', secret).update(body).digest('hex');
    return same(String(plain).replace(/^sha256=/, ''), expected);
  }
  return null;
}

export async function startReceiver({ port = 4100, host = '127.0.0.1', secret = process.env.CHAT_WEBHOOK_SECRET, log = console.log } = {}) {
  const deliveries = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const verified = verify(req.headers, body, secret);
      deliveries.push({ at: new Date().toISOString(), path: req.url, verified, body });
      let summary = body.slice(0, 200);
      try {
        const event = JSON.parse(body);
        const row = event.data ?? event.record ?? event.row ?? event;
        summary = `${event.type ?? event.event ?? 'event'} ${row.id ?? ''} ${JSON.stringify(row.body ?? '')}`;
      } catch {}
      log(`webhook: ${verified === true ? 'verified' : verified === false ? 'BAD SIGNATURE' : 'unsigned'} ${req.method} ${req.url} ${summary}`);
      res.writeHead(verified === false ? 401 : 204).end();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return { url: `http://${host}:${server.address().port}`, deliveries, close: () => new Promise((resolve) => server.close(resolve)) };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--port');
  const receiver = await startReceiver({ port: Number(i > 0 ? process.argv[i + 1] : (process.env.PORT ?? 4100)) });
  console.log(`webhook: listening on ${receiver.url}`);
}
