// @vitest-environment jsdom
/**
 * `@@service` actions from the SDK against a real server and a real receiver (a Node HTTP server here): the
 * generated client's typed `$actions` over both transports (the caller's identity reaches the service, its answer
 * comes back), refusals (an anonymous caller: 401, nothing sent) and a failing service (502 `action_failed`), and
 * the React adapter's `useAction`.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { renderHook, waitFor } from '@testing-library/react';
import { afterAll, beforeAll, test } from 'vitest';
import { createClient, SsotError, type $Client } from './generated/ssot.js';
import { useAction } from '../src/react/index.js';
import { Server } from './server.js';
import { harness } from './react-helpers.js';
import { userClient } from './helpers.js';

let receiver: HttpServer;
let server: Server;
const calls: Array<{ path: string; caller: unknown; body: unknown }> = [];
let failNext = false;

function body(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => resolve(text));
  });
}

beforeAll(async () => {
  receiver = createServer(async (request, response) => {
    const text = await body(request);
    const callerHeader = request.headers['ssot-caller'];
    const caller: unknown = typeof callerHeader === 'string' ? JSON.parse(callerHeader) : null;
    calls.push({ path: request.url ?? '', caller, body: JSON.parse(text || 'null') });
    if (failNext) {
      failNext = false;
      response.writeHead(503).end('down');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echo: JSON.parse(text || 'null'), caller }));
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  server = await Server.start({ env: { SDK_SERVICE_URL: `http://127.0.0.1:${port}` } });
});

const clients: $Client[] = [];
afterAll(async () => {
  for (const c of clients.splice(0)) c.$disconnect();
  await server.dispose();
  await new Promise((resolve) => receiver.close(resolve));
});

function generated(transport: 'http' | 'ws'): $Client {
  const c = createClient({ url: server.url, WebSocket, timeoutMs: 10_000, transport });
  clients.push(c);
  return c;
}

for (const transport of ['http', 'ws'] as const) {
  test(`the generated client's $actions over ${transport}: the service's answer, the caller's identity, refusals`, async () => {
    const c = generated(transport);
    const session = await c.auth.signup({ email: `act-${transport}-${Date.now()}@example.com`, password: 'correct horse battery' });
    const id = (session.user as { id: string }).id;
    const answer = await c.$actions.echo<{ echo: unknown; caller: { id?: string } }>({ hello: transport });
    assert.deepEqual(answer.echo, { hello: transport });
    assert.equal(answer.caller?.id, id, 'the service is told who calls');
    assert.equal(calls.at(-1)?.path, '/actions/echo');

    failNext = true;
    await assert.rejects(c.$actions.echo({}), (e: unknown) => e instanceof SsotError && e.status === 502 && e.code === 'action_failed');

    const anonymous = generated(transport);
    const before = calls.length;
    await assert.rejects(anonymous.$actions.echo({}), (e: unknown) => e instanceof SsotError && e.status === 401);
    assert.equal(calls.length, before, 'a refused call never reaches the service');
    // @ts-expect-error no such action
    void c.$actions.nope;
  });
}

test('useAction calls the action and gives its answer', async () => {
  const user = await userClient(server.url, { transport: 'ws' });
  const { wrapper } = harness(user);
  const { result } = renderHook(() => useAction<{ echo: unknown }>('echo'), { wrapper });
  const answer = await result.current.mutateAsync({ from: 'hook' });
  assert.deepEqual(answer.echo, { from: 'hook' });
  await waitFor(() => assert.equal(result.current.isSuccess, true));
});
