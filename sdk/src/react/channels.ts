/**
 * The channel hooks: `useChannel` (a record's ephemeral channel: presence, broadcasts) and `usePresence` (who is
 * here). Owns staying joined while a component shows the channel (one membership per connection, however many
 * components use it, through the bridge), re-rendering on presence changes, and sending this component's
 * presence state again when it changes.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { SsotError, type Channel, type IdValue, type Json, type Member } from '../index.js';
import { useBridge } from './provider.js';

export interface ChannelOptions<State, Payload> {
  /**
   * This connection's presence state: joined with it, sent again (`state`) when it changes (compared as JSON).
   * Left out, the component does not touch the state (another component of the connection may set it).
   */
  state?: State | null;
  /** Hears the others' broadcasts. */
  onBroadcast?: (event: string, payload: Payload, from: Member<State>) => void;
  /** `false`: do not join (default true). */
  enabled?: boolean;
}

export type ChannelStatus = 'idle' | 'joining' | 'joined' | 'left' | 'error';

export interface ChannelHandle<State, Payload> {
  channel: Channel<State, Payload>;
  /** Who is here, this connection included. */
  members: Array<Member<State>>;
  /** This connection's member name while joined. */
  me: string | undefined;
  status: ChannelStatus;
  /** Why joining failed (`forbidden`, …), or why the server put the connection out. */
  error: SsotError | undefined;
  broadcast: (event: string, payload: Payload) => boolean;
  setState: (state: State | null) => void;
}

interface View<State> {
  members: Array<Member<State>>;
  me: string | undefined;
  status: ChannelStatus;
  error: SsotError | undefined;
}

/** `(name)` or `(model, id)` then options: the channel's full name, and the options. */
function target<O>(first: string, second: IdValue | O | undefined, third: O | undefined): [string, O | undefined] {
  if (typeof second === 'string' || typeof second === 'number' || Array.isArray(second)) {
    const id = second as IdValue;
    return [`${first}:channel:${Array.isArray(id) ? id.join(',') : String(id)}`, third];
  }
  return [first, second as O | undefined];
}

/** A channel by its full name (`Room:channel:5`) or by model and id, joined while the component is mounted. */
export function useChannel<State = Json, Payload = Json>(name: string, options?: ChannelOptions<State, Payload>): ChannelHandle<State, Payload>;
export function useChannel<State = Json, Payload = Json>(model: string, id: IdValue, options?: ChannelOptions<State, Payload>): ChannelHandle<State, Payload>;
export function useChannel<State = Json, Payload = Json>(
  first: string,
  second?: IdValue | ChannelOptions<State, Payload>,
  third?: ChannelOptions<State, Payload>,
): ChannelHandle<State, Payload> {
  const [name, given] = target(first, second, third);
  const options = given ?? {};
  const enabled = options.enabled !== false;
  const bridge = useBridge();
  const channel = useMemo(() => bridge.client.$channel<State, Payload>(name), [bridge, name]);
  const [view, setView] = useState<View<State>>({ members: [], me: undefined, status: 'idle', error: undefined });
  const state = options.state;
  const stateJson = state === undefined ? undefined : JSON.stringify(state);
  // The latest state and listener, read by the effects without re-joining when they change.
  const latest = useRef({ state, stateJson, onBroadcast: options.onBroadcast, sent: stateJson });
  latest.current = { ...latest.current, state, stateJson, onBroadcast: options.onBroadcast };

  useEffect(() => {
    if (!enabled) return undefined;
    let active = true;
    const show = (status: ChannelStatus, error?: SsotError): void => {
      if (active) setView({ members: [...channel.members.values()], me: channel.me, status, error });
    };
    const offPresence = channel.onPresence(() => show('joined'));
    const offBroadcast = channel.onBroadcast((event, payload, from) => latest.current.onBroadcast?.(event, payload, from));
    const offLeft = channel.onLeft((code) => show('left', code === undefined ? undefined : new SsotError({ status: 403, code, detail: `left ${name}: ${code}` })));
    const held = bridge.holdChannel<State, Payload>(name, latest.current.state);
    latest.current.sent = latest.current.stateJson;
    show(channel.me === undefined ? 'joining' : 'joined');
    held.joined.then(
      () => show('joined'),
      (error: unknown) => show('error', error instanceof SsotError ? error : new SsotError({ status: 0, code: 'join_failed', detail: String(error) })),
    );
    return () => {
      active = false;
      offPresence();
      offBroadcast();
      offLeft();
      held.release();
    };
  }, [bridge, channel, name, enabled]);

  // A changed state is sent (kept by the channel for re-joins too).
  useEffect(() => {
    const next = latest.current.state;
    if (!enabled || next === undefined || latest.current.sent === stateJson) return;
    latest.current.sent = stateJson;
    channel.setState(next);
  }, [channel, enabled, stateJson]);

  return {
    channel,
    ...view,
    broadcast: (event, payload) => channel.broadcast(event, payload),
    setState: (next) => channel.setState(next),
  };
}

/** Who is in a channel (joined with `state` while the component is mounted): `usePresence('Room', id, { state })`. */
export function usePresence<State = Json>(name: string, options?: ChannelOptions<State, Json>): Array<Member<State>>;
export function usePresence<State = Json>(model: string, id: IdValue, options?: ChannelOptions<State, Json>): Array<Member<State>>;
export function usePresence<State = Json>(first: string, second?: IdValue | ChannelOptions<State, Json>, third?: ChannelOptions<State, Json>): Array<Member<State>> {
  const [name, options] = target(first, second, third);
  return useChannel<State, Json>(name, options).members;
}
