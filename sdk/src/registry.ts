/**
 * `LiveRegistry`: the live subscriptions of one socket. Owns routing the socket's messages (`subscribed`,
 * `update`, `synced`, `reset`, `unsubscribed`, `error`) to the `LiveQuery`s, resubscribing them after a
 * reconnection, holding a snapshot that stands ahead of the others until they reach it, and read-your-writes for
 * the whole client (`settle`).
 */
import type { NormalizedCache } from './cache.js';
import { SsotError } from './errors.js';
import { LiveQuery, type IdOf, type LiveEvent, type LiveStart } from './live.js';
import type { Obj } from './types.js';
import type { WebSocketTransport } from './ws.js';

/**
 * The live subscriptions of one socket: routes its messages to them and resubscribes after reconnecting.
 *
 * Every live query of the client stands at one `seq`, so a screen never shows a state that never existed. An
 * `update` moves all of them at once; but a snapshot (`subscribed`, or a resumed one) is read when it is asked
 * for, and may stand ahead of the others while the server has not yet sent their `update` up to it. Such a
 * snapshot is held (its rows not even in the shared cache) and the server asked to `sync`; it is shown with the
 * first `update` or `synced` that reaches its `seq`, in the same batch, so that every view moves together.
 */
export class LiveRegistry {
  private readonly subs = new Map<string, LiveQuery<unknown, unknown>>();
  private nextId = 1;
  /** The `seq` every shown view of this client stands at (or later). */
  private standing = -1;
  /** Snapshots ahead of `standing`, in the order they came. */
  private held: Array<{ sub: LiveQuery<unknown, unknown>; seq: number; message: Obj }> = [];

  constructor(
    readonly socket: WebSocketTransport,
    readonly cache: NormalizedCache,
    readonly idOf: IdOf,
  ) {
    socket.onOpen(() => {
      for (const sub of this.subs.values()) socket.send(sub.subscribeMessage());
    });
    socket.onStatus((info) => {
      if (info.status === 'open') return;
      // A held snapshot was the lost connection's: its subscription resumes from what it shows.
      this.held = [];
      this.syncing = -1;
      for (const sub of this.subs.values()) sub.connectionLost();
    });
    socket.onMessage((message) => this.handle(message));
  }

  subscribe<Row, Value>(model: string, channel: string, args: Obj, kind: 'list' | 'item', start?: LiveStart<Value>): LiveQuery<Row, Value> {
    const sub = new LiveQuery<Row, Value>(this, `s${this.nextId++}`, model, channel, args, kind);
    if (start) sub.seed(start);
    this.subs.set(sub.id, sub as LiveQuery<unknown, unknown>);
    if (!this.socket.send(sub.subscribeMessage())) this.socket.connect();
    return sub;
  }

  /** The highest `seq` asked for with `sync` and not yet answered on this connection. */
  private syncing = -1;

  /** Asks the server to say (`synced`) when this connection's live queries stand at `seq`. */
  sync(seq: number): void {
    if (seq <= this.syncing || seq <= this.standing) return; // one question answers every lower one
    if (this.socket.send({ type: 'sync', seq })) this.syncing = seq;
  }

  /**
   * Read-your-writes for a write that committed at `seq`: resolves once every live view of this client reflects
   * it, at once when none is live or the socket is not open. It never rejects: a committed write is not failed
   * because a view lags (after `timeoutMs` it resolves anyway).
   */
  async settle(seq: number, timeoutMs: number): Promise<void> {
    if (!this.socket.isOpen) return;
    const live = [...this.subs.values()].filter((sub) => sub.state === 'live');
    await Promise.all(live.map((sub) => sub.waitForSeq(seq, timeoutMs).catch(() => undefined)));
  }

  remove(sub: { id: string }, tellServer: boolean): void {
    this.subs.delete(sub.id);
    this.held = this.held.filter((h) => h.sub.id !== sub.id);
    if (tellServer) this.socket.send({ type: 'unsubscribe', id: sub.id });
  }

  closeAll(): void {
    for (const sub of this.subs.values()) sub.close(undefined);
    this.subs.clear();
    this.held = [];
  }

  private handle(message: Obj): void {
    switch (message.type) {
      case 'subscribed':
        return this.subscribed(message);
      case 'update':
        return this.update(message);
      case 'synced': {
        // Every live view of this connection stands at `seq`: an update before it carried whatever changed.
        const seq = Number(message.seq);
        if (seq >= this.syncing) this.syncing = -1;
        this.cache.batch(() => this.reach(seq));
        this.connectionAt(seq);
        return;
      }
      case 'reset': {
        const all = (message.subscriptions ?? {}) as Record<string, { seq: number; data: unknown }>;
        this.held = this.held.filter((h) => !(h.sub.id in all));
        this.cache.batch(() => {
          for (const [id, state] of Object.entries(all)) {
            this.subs.get(id)?.replace(state.data, state.seq);
            this.standing = Math.max(this.standing, state.seq);
          }
        });
        return;
      }
      case 'unsubscribed': {
        // Ours are already removed; one still here was ended by the server (an `auth` that no longer may).
        const sub = this.subs.get(String(message.id));
        if (sub && message.code) {
          this.subs.delete(sub.id);
          sub.close(new SsotError({ status: 403, code: String(message.code), detail: String(message.message ?? '') }));
        }
        return;
      }
      case 'error': {
        const sub = message.id !== undefined ? this.subs.get(String(message.id)) : undefined;
        if (!sub) return;
        this.subs.delete(sub.id);
        const problem = (message.problem as Obj | undefined) ?? {};
        const code = String(message.code);
        const status = code === 'unauthorized' ? 401 : code === 'forbidden' ? 403 : 400;
        sub.close(new SsotError({ status, code, detail: String(message.message), ...problem }));
        return;
      }
    }
  }

  private subscribed(message: Obj): void {
    const sub = this.subs.get(String(message.id));
    if (!sub) return;
    const seq = Number(message.seq);
    const othersShown = [...this.subs.values()].some((other) => other !== sub && other.state === 'live' && !this.isHeld(other));
    if (seq > this.standing && othersShown) {
      this.held.push({ sub, seq, message });
      this.sync(seq);
      return;
    }
    this.cache.batch(() => this.show(sub, message));
    this.standing = Math.max(this.standing, seq);
  }

  /** Applies a snapshot (or a resumed replay) to its view. */
  private show(sub: LiveQuery<unknown, unknown>, message: Obj): void {
    const seq = Number(message.seq);
    if (message.resumed) {
      // What was missed, step by step, as the updates it would have had.
      const steps = (message.replay ?? []) as Array<{ seq: number; events: LiveEvent[] }>;
      for (const step of steps) sub.apply(step.events, step.seq);
      sub.apply([], seq);
      sub.becameLive();
    } else {
      sub.replace(message.data, seq);
    }
  }

  /** The connection stands at `seq`: the held snapshots it reaches are shown (inside the caller's batch). */
  private reach(seq: number): void {
    this.standing = Math.max(this.standing, seq);
    const due = this.held.filter((h) => h.seq <= seq);
    if (due.length === 0) return;
    this.held = this.held.filter((h) => h.seq > seq);
    for (const h of due) this.show(h.sub, h.message);
  }

  private isHeld(sub: LiveQuery<unknown, unknown>): boolean {
    return this.held.some((h) => h.sub === sub);
  }

  private connectionAt(seq: number): void {
    for (const sub of this.subs.values()) if (!this.isHeld(sub)) sub.connectionAt(seq);
  }

  private update(message: Obj): void {
    const seq = Number(message.seq);
    const bySub = new Map<string, LiveEvent[]>();
    for (const event of (message.events ?? []) as LiveEvent[]) {
      const list = bySub.get(String(event.sub));
      if (list) list.push(event);
      else bySub.set(String(event.sub), [event]);
    }
    // One message, one snapshot: held snapshots it reaches are shown, every view changes, then each listener
    // hears once.
    this.cache.batch(() => {
      this.reach(seq);
      for (const [id, events] of bySub) this.subs.get(id)?.apply(events, seq);
    });
    this.connectionAt(seq);
  }
}
