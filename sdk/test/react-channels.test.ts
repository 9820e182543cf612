// @vitest-environment jsdom
/**
 * The React adapter's channel hooks against a real server: two clients' components see each other join, change
 * their presence state (a changed `state` prop) and broadcast, and leave on unmount; two components of one
 * client share one membership.
 */
import assert from 'node:assert/strict';
import { act, renderHook, waitFor } from '@testing-library/react';
import { test } from 'vitest';
import { useChannel, usePresence } from '../src/react/index.js';
import { recordingWebSocket, userClient, userId, fileServer } from './helpers.js';
import { harness } from './react-helpers.js';

const server = fileServer();

const until = { timeout: 10_000 };
type Typing = { typing: boolean };
type Cursor = { x: number };

test('presence and broadcasts between two clients\' components; leaving on unmount', async () => {
  const a = await userClient(server.url, { transport: 'ws' });
  const b = await userClient(server.url, { transport: 'ws' });
  const room = await a.$model('Room').create({ data: { name: 'react lobby' } });
  const heard: Array<[string, number, string | null]> = [];
  const inA = renderHook(
    () => useChannel<Typing, Cursor>('Room', room.id, { state: { typing: false }, onBroadcast: (event, payload, from) => heard.push([event, payload.x, from.user]) }),
    { wrapper: harness(a).wrapper },
  );
  await waitFor(() => assert.equal(inA.result.current.status, 'joined'), until);
  assert.deepEqual(inA.result.current.members.map((m) => m.user), [userId(a)]);
  assert.equal(inA.result.current.me, inA.result.current.members[0]?.member);

  const inB = renderHook(({ typing }: Typing) => useChannel<Typing, Cursor>(`Room:channel:${room.id}`, { state: { typing } }), {
    wrapper: harness(b).wrapper,
    initialProps: { typing: false },
  });
  await waitFor(() => assert.equal(inA.result.current.members.length, 2), until);
  await waitFor(() => assert.equal(inB.result.current.members.length, 2), until);

  // A changed state prop is sent; the others see it.
  inB.rerender({ typing: true });
  await waitFor(() => assert.ok(inA.result.current.members.some((m) => m.user === userId(b) && m.state?.typing === true)), until);

  act(() => {
    assert.equal(inB.result.current.broadcast('cursor', { x: 7 }), true);
  });
  await waitFor(() => assert.deepEqual(heard, [['cursor', 7, userId(b)]]), until);

  inB.unmount();
  await waitFor(() => assert.deepEqual(inA.result.current.members.map((m) => m.user), [userId(a)]), until);
  inA.unmount();
});

test('two components of one client share one membership; usePresence lists the members', async () => {
  const { WebSocket, wire } = recordingWebSocket();
  const a = await userClient(server.url, { transport: 'ws', WebSocket });
  const b = await userClient(server.url, { transport: 'ws' });
  const room = await a.$model('Room').create({ data: { name: 'shared' } });
  const { wrapper } = harness(a);
  const both = renderHook(() => ({ one: usePresence<Typing>('Room', room.id, { state: { typing: false } }), two: useChannel<Typing>('Room', room.id) }), { wrapper });
  await waitFor(() => assert.equal(both.result.current.two.status, 'joined'), until);
  const other = renderHook(() => usePresence<Typing>('Room', room.id), { wrapper: harness(b).wrapper });
  await waitFor(() => assert.equal(both.result.current.one.length, 2), until);
  await waitFor(() => assert.equal(other.result.current.length, 2), until);
  assert.equal(both.result.current.two.members.length, 2);
  assert.equal(both.result.current.two.error, undefined);
  assert.equal(wire.sent.filter((m) => m.type === 'join').length, 1, 'one join for two components');
  assert.deepEqual(
    other.result.current.find((m) => m.user === userId(a))?.state,
    { typing: false },
    'the component without a state left the other\'s alone',
  );
  assert.deepEqual(wire.received.filter((m) => m.type === 'error'), []);
  both.unmount();
  await waitFor(() => assert.equal(other.result.current.length, 1), until);
  assert.equal(wire.sent.filter((m) => m.type === 'leave').length, 1);
  other.unmount();
});
