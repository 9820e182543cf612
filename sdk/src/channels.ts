/**
 * Ephemeral channels (`Model:channel:<id>`): presence and broadcasts. Owns the member list as `joined` and
 * `presence` messages describe it, and staying in a channel across what the server does to the connection: a
 * reconnection, an `auth` (a token refresh) or the server swapping its schema (`ssot dev`), all of which put the
 * connection out of its channels, are answered by joining again with the last state.
 */
import { ClosedError, SsotError } from './errors.js';
import type { Json, Obj } from './types.js';
import type { WebSocketTransport } from './ws.js';

export interface Member<State = Json> {
  /** The connection's name in the channel (opaque). */
  member: string;
  /** The user's id; null for the admin key. */
  user: string | null;
  state: State | null;
}

export type PresenceEvent = 'sync' | 'join' | 'state' | 'leave';

export class Channel<State = Json, Payload = Json> {
  /** Who is here (this connection included), by member name. */
  readonly members = new Map<string, Member<State>>();
  /** This connection's member name while joined. */
  me: string | undefined;
  /** Whether the application wants to be in the channel (kept across reconnections). */
  private wanted = false;
  private state: State | null = null;
  private joining: Array<{ resolve: (members: Member<State>[]) => void; reject: (error: unknown) => void }> = [];
  private readonly presenceListeners = new Set<(members: Member<State>[], event: PresenceEvent, who: Member<State> | undefined) => void>();
  private readonly broadcastListeners = new Set<(event: string, payload: Payload, from: Member<State>) => void>();
  private readonly leftListeners = new Set<(code: string | undefined) => void>();

  constructor(
    private readonly socket: WebSocketTransport,
    readonly name: string,
  ) {}

  /** Joins with a presence state; resolves with everyone present once joined. */
  join(state: State | null = null): Promise<Member<State>[]> {
    this.wanted = true;
    this.state = state;
    return new Promise((resolve, reject) => {
      this.joining.push({ resolve, reject });
      if (!this.sendJoin()) this.socket.connect();
    });
  }

  leave(): void {
    this.wanted = false;
    this.members.clear();
    this.me = undefined;
    this.socket.send({ type: 'leave', channel: this.name });
  }

  /** Replaces this connection's presence state. */
  setState(state: State | null): void {
    this.state = state;
    this.socket.send({ type: 'state', channel: this.name, state: state as Json });
  }

  /** Sends `event` to the others in the channel (not back to this connection). Dropped when not connected. */
  broadcast(event: string, payload: Payload): boolean {
    return this.socket.send({ type: 'broadcast', channel: this.name, event, payload: payload as Json });
  }

  onPresence(listener: (members: Member<State>[], event: PresenceEvent, who: Member<State> | undefined) => void): () => void {
    this.presenceListeners.add(listener);
    return () => this.presenceListeners.delete(listener);
  }

  onBroadcast(listener: (event: string, payload: Payload, from: Member<State>) => void): () => void {
    this.broadcastListeners.add(listener);
    return () => this.broadcastListeners.delete(listener);
  }

  /** The server put this connection out (`forbidden`: the rule no longer admits it). */
  onLeft(listener: (code: string | undefined) => void): () => void {
    this.leftListeners.add(listener);
    return () => this.leftListeners.delete(listener);
  }

  // ---- driven by the registry ----

  sendJoin(): boolean {
    return this.wanted && this.socket.send({ type: 'join', channel: this.name, state: this.state as Json });
  }

  connectionLost(): void {
    this.members.clear();
    this.me = undefined;
  }

  handle(message: Obj): void {
    switch (message.type) {
      case 'joined': {
        this.members.clear();
        for (const m of (message.members ?? []) as Member<State>[]) this.members.set(m.member, m);
        this.me = String(message.member);
        const members = [...this.members.values()];
        for (const j of this.joining.splice(0)) j.resolve(members);
        return this.emit('sync', undefined);
      }
      case 'presence': {
        const who = message.member as Member<State>;
        if (message.event === 'leave') this.members.delete(who.member);
        else this.members.set(who.member, { ...who, state: who.state ?? null });
        return this.emit(message.event as PresenceEvent, who);
      }
      case 'broadcast': {
        const from = message.from as Member<State>;
        for (const l of this.broadcastListeners) l(String(message.event), message.payload as Payload, from);
        return;
      }
      case 'left': {
        const code = message.code === undefined ? undefined : String(message.code);
        this.members.clear();
        this.me = undefined;
        // A token refresh (`auth`), or the server swapping its schema (`ssot dev`), puts every connection out
        // of its channels: come back at once.
        if ((code === 'reauthenticated' || code === 'reloaded') && this.wanted) {
          this.sendJoin();
          return;
        }
        if (code !== undefined) this.wanted = false;
        for (const l of this.leftListeners) l(code);
        return;
      }
      case 'error': {
        const error = new SsotError({ status: message.code === 'forbidden' ? 403 : 400, code: String(message.code), detail: String(message.message) });
        if (this.joining.length > 0 && (message.code === 'forbidden' || message.code === 'not_subscribable' || message.code === 'unknown_channel' || message.code === 'unauthorized')) {
          this.wanted = false;
        }
        for (const j of this.joining.splice(0)) j.reject(error);
        return;
      }
    }
  }

  close(): void {
    this.wanted = false;
    for (const j of this.joining.splice(0)) j.reject(new ClosedError());
  }

  private emit(event: PresenceEvent, who: Member<State> | undefined): void {
    const members = [...this.members.values()];
    for (const l of this.presenceListeners) l(members, event, who);
  }
}

/** The channels of one socket: routes their messages and joins them again after a reconnection. */
export class ChannelRegistry {
  private readonly channels = new Map<string, Channel<unknown, unknown>>();

  constructor(private readonly socket: WebSocketTransport) {
    socket.onOpen(() => {
      for (const channel of this.channels.values()) channel.sendJoin();
    });
    socket.onStatus((info) => {
      if (info.status !== 'open') for (const channel of this.channels.values()) channel.connectionLost();
    });
    socket.onMessage((message) => {
      if (typeof message.channel !== 'string') return;
      this.channels.get(message.channel)?.handle(message);
    });
  }

  get<State, Payload>(name: string): Channel<State, Payload> {
    let channel = this.channels.get(name);
    if (!channel) {
      channel = new Channel<unknown, unknown>(this.socket, name);
      this.channels.set(name, channel);
    }
    return channel as Channel<State, Payload>;
  }

  closeAll(): void {
    for (const channel of this.channels.values()) channel.close();
  }
}
