// A tiny webhook receiver for the chat's `@@service("webhook", ...)` on Message: it logs each delivery, and
// whether its signature verifies with CHAT_WEBHOOK_SECRET: the Standard Webhooks headers ssot sends
// (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`, the key
// a `whsec_<base64>` secret's bytes; see docs/services.md), or a plain `x-signature: sha256=<hex>` over the body.
// A bad signature is answered 401 (ssot then retries, and dead-letters the event in the end).
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
    if (Math.abs(Date.now() / 1000 - Number(headers['webhook-timestamp'])) > 300) return false; // replayed long after
    const expected = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64');
    return String(standard).split(' ').some((s) => s.startsWith('v1,') && same(s.slice(3), expected));
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
      let event;
      try {
        event = JSON.parse(body);
      } catch {}
      // ssot's payload: { type: "message.created", timestamp, data: { model, operation, seq, id, record } }.
      deliveries.push({ at: new Date().toISOString(), id: req.headers['webhook-id'], path: req.url, verified, event });
      const summary = event?.data ? `${event.type} #${event.data.id} ${JSON.stringify(event.data.record?.body ?? '')}` : body.slice(0, 200);
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

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--port');
  const receiver = await startReceiver({ port: Number(i > 0 ? process.argv[i + 1] : (process.env.PORT ?? 4100)) });
  console.log(`webhook: listening on ${receiver.url}`);
}
