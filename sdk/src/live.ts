/**
 * Live queries: list and item subscriptions over the socket. Owns applying `subscribed`, `update` (the two
 * passes of protocol.md), `reset` and resumed replays to each view, tracking per subscription the `seq` of the
 * last message that carried it so that a reconnection resumes with `since` (no gap, no duplicate), and
 * read-your-writes (`waitForSeq`), and starting from rows already known at a `seq` (`LiveStart`: a server-rendered
 * page). Rows live in the normalized cache; a view holds only the ids, in order.
 */
import { keyOf } from './cache.js';
import { ClosedError, SsotError, TimeoutError } from './errors.js';
import type { IdValue, Obj } from './types.js';
import type { LiveRegistry } from './registry.js';

export type LiveOp = 'created' | 'entered' | 'updated' | 'moved' | 'deleted' | 'left';

/** One event of an `update`, as the server sends it. */
export interface LiveEvent {
  sub: string;
  op: LiveOp;
  id: IdValue;
  index?: number;
  row?: Obj;
}

/** What a listener is told besides the rows: why they changed. */
export interface LiveChange {
  /** The subscription's `seq` now. */
  seq: number;
  /** The server's events applied (empty for a snapshot or a change made locally). */
  events: LiveEvent[];
  /** The rows were replaced by a snapshot (`subscribed`, `reset`, or a resume the server could not replay). */
  reset: boolean;
  /** `server`: news from the server; `local`: the cache changed under the view (an optimistic update). */
  source: 'server' | 'local';
}

export type LiveState = 'pending' | 'live' | 'closed';

/**
 * Where a live query starts when its rows are already known at a change-log `seq`: a page rendered on a server
 * (`findPage`'s `meta.seq`), or a cached result. `value` is the list's rows (or the item's row, or null). The
 * view shows them at once, and the subscription is sent with `since: seq`, so that the server answers with what
 * changed after `seq` (a replay) or, when it cannot tell (`seq` is not a state it remembers of the
 * subscription, as a REST read's is not), a snapshot (`reset`). Either way the view ends equal to the query's
 * result and a change committed after `seq` is not lost. `value` must be what this query returned at `seq` for
 * this caller: a replay is applied on top of it.
 */
export interface LiveStart<Value> {
  seq: number;
  value: Value;
}

/** Resolves the id of a row of `model` (its id fields; generated code knows them). */
export type IdOf = (model: string, row: Obj) => IdValue;

/** A live subscription: a list (`Model:list`) or one record (`Model:item:<id>`). */
export class LiveQuery<Row, Value = Row[]> {
  state: LiveState = 'pending';
  /** The `seq` of the last message that carried this subscription; -1 before the first. */
  seq = -1;
  /** Why the subscription ended, when the server ended it. */
  error: SsotError | undefined;
  /** Resolves with the first snapshot; rejects when the server refuses the subscription. */
  readonly ready: Promise<Value>;
  private resolveReady!: (value: Value) => void;
  private rejectReady!: (error: unknown) => void;
  private keys: string[] = [];
  private ids = new Map<string, IdValue>();
  /**
   * Per row, what this view was sent beyond the cache's shared copy: the fields it asked for (its `select`, so
   * its rows hold those and no others) and its relations (with its own arguments; the cache keeps none).
   */
  private held = new Map<string, { fields: string[]; relations: Obj }>();
  /** The connection's latest `update` seq since this subscription stood on it (see `knownSeq`). */
  private watermark = -1;
  private readonly listeners = new Set<(value: Value, change: LiveChange) => void>();
  private waiters: Array<{ seq: number; resolve: () => void; reject: (error: unknown) => void }> = [];
  private readonly stopCache: () => void;

  constructor(
    private readonly registry: LiveRegistry,
    readonly id: string,
    readonly model: string,
    readonly channel: string,
    readonly args: Obj,
    readonly kind: 'list' | 'item',
  ) {
    this.ready = new Promise<Value>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined); // a refusal is also reported to `error`; unobserved is not a crash
    this.stopCache = registry.cache.listen(model, this.cacheListener);
  }

  /** The current value: the rows in order (list), or the record or null (item), optimistic changes applied. */
  get value(): Value {
    const rows: Obj[] = [];
    for (const key of this.keys) {
      const row = this.registry.cache.get<Obj>(this.model, key, true);
      if (!row) continue;
      const held = this.held.get(key);
      if (!held) {
        rows.push(row);
        continue;
      }
      const shown: Obj = {};
      for (const field of held.fields) shown[field] = field in held.relations ? held.relations[field] : row[field];
      rows.push(shown);
    }
    return (this.kind === 'list' ? rows : (rows[0] ?? null)) as Value;
  }

  /** Calls `listener` on every change (after `ready`); returns a function that stops it. */
  onChange(listener: (value: Value, change: LiveChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Up to which `seq` this view is known to be current. */
  get knownSeq(): number {
    return Math.max(this.seq, this.watermark);
  }

  /**
   * Resolves once the view reflects every change up to `seq` (a write's `seq`: read-your-writes). A write that
   * leaves this view as it was brings no update: the server is asked (`sync`) and answers `synced` once the
   * connection's live queries stand at `seq`.
   */
  waitForSeq(seq: number, timeoutMs = 10_000): Promise<void> {
    if (this.knownSeq >= seq) return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(this.error ?? new ClosedError());
    this.registry.sync(seq);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new TimeoutError(timeoutMs));
      }, timeoutMs);
      const waiter = {
        seq,
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (error: unknown) => (clearTimeout(timer), reject(error)),
      };
      this.waiters.push(waiter);
    });
  }

  /** Ends the subscription (and tells the server, when connected). */
  unsubscribe(): void {
    if (this.state === 'closed') return;
    this.registry.remove(this, true);
    this.close(undefined);
  }

  // ---- driven by the registry ----

  /** Starts from rows known at `start.seq` (see `LiveStart`); before the first subscribe message is sent. */
  seed(start: LiveStart<unknown>): void {
    this.registry.cache.batch(() => this.load(start.value, start.seq));
  }

  /** The message to (re)subscribe with: `since` once a state is known, so the server replays what was missed. */
  subscribeMessage(): Obj {
    const message: Obj = { type: 'subscribe', id: this.id, channel: this.channel, args: this.args };
    if (this.seq >= 0) message.since = this.seq;
    return message;
  }

  connectionLost(): void {
    if (this.state === 'live') this.state = 'pending';
    this.watermark = -1;
  }

  /** A snapshot: replace the rows (`subscribed`, `reset`, or a fresh `subscribed` after `auth`). */
  replace(data: unknown, seq: number): void {
    const cache = this.registry.cache;
    cache.batch(() => {
      this.load(data, seq);
      this.carried(seq);
      this.notify({ seq, events: [], reset: true, source: 'server' });
    });
    this.becameLive();
  }

  /** Makes `data` (a list's rows, or an item's row or null) the view, as it stood at `seq`. */
  private load(data: unknown, seq: number): void {
    const rows = this.kind === 'list' ? (Array.isArray(data) ? (data as Obj[]) : []) : data ? [data as Obj] : [];
    this.keys = [];
    this.ids.clear();
    this.held.clear();
    for (const row of rows) {
      const id = this.registry.idOf(this.model, row);
      this.track(id);
      this.hold(keyOf(id), row);
      this.registry.cache.write(this.model, id, row, seq);
    }
    this.seq = seq;
  }

  /** One step of changes (an `update`'s events for this subscription, or a step of a resumed replay). */
  apply(events: LiveEvent[], seq: number): void {
    if (events.length === 0) return this.carried(seq); // a resume that missed nothing
    const cache = this.registry.cache;
    cache.batch(() => {
      // Pass 1: rows that are gone.
      for (const event of events) {
        if (event.op !== 'deleted' && event.op !== 'left') continue;
        this.untrack(keyOf(event.id));
        this.held.delete(keyOf(event.id));
        if (event.op === 'deleted') cache.remove(this.model, event.id, seq);
      }
      // Pass 2: rows placed, in the order given.
      for (const event of events) {
        if (event.op === 'deleted' || event.op === 'left') continue;
        const key = keyOf(event.id);
        if (this.kind === 'list') {
          this.untrack(key);
          this.track(event.id, event.index ?? this.keys.length);
        } else if (!this.ids.has(key)) {
          this.keys = [];
          this.ids.clear();
          this.held.clear();
          this.track(event.id);
        }
        if (event.row && event.op !== 'moved') {
          this.hold(key, event.row);
          cache.write(this.model, event.id, event.row, seq);
        }
      }
      this.carried(seq);
      this.notify({ seq, events, reset: false, source: 'server' });
    });
  }

  /** The connection's `update` at `seq` holds every change of this subscription up to it. */
  connectionAt(seq: number): void {
    if (this.state !== 'live') return;
    this.watermark = Math.max(this.watermark, seq);
    this.release();
  }

  becameLive(): void {
    const first = this.state === 'pending' && this.seq >= 0;
    if (first) this.state = 'live';
    this.resolveReady(this.value);
  }

  close(error: SsotError | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.error = error;
    this.stopCache();
    this.rejectReady(error ?? new ClosedError());
    for (const waiter of this.waiters) waiter.reject(error ?? new ClosedError());
    this.waiters = [];
  }

  private carried(seq: number): void {
    this.seq = seq;
    this.release();
  }

  private release(): void {
    const known = this.knownSeq;
    const due = this.waiters.filter((w) => w.seq <= known);
    this.waiters = this.waiters.filter((w) => w.seq > known);
    for (const waiter of due) waiter.resolve();
  }

  private track(id: IdValue, index = this.keys.length): void {
    const key = keyOf(id);
    this.ids.set(key, id);
    this.keys.splice(Math.min(index, this.keys.length), 0, key);
  }

  /** Keeps what this view was sent of a row that the cache does not share: its fields and its relations. */
  private hold(key: string, row: Obj): void {
    const relations: Obj = {};
    for (const field of this.registry.cache.relationsOf(this.model, row)) relations[field] = row[field];
    this.held.set(key, { fields: Object.keys(row), relations });
  }

  private untrack(key: string): void {
    if (!this.ids.delete(key)) return;
    const at = this.keys.indexOf(key);
    if (at >= 0) this.keys.splice(at, 1);
  }

  private pendingChange: LiveChange | undefined;

  private notify(change: LiveChange): void {
    // Delivered once at the end of the cache's batch, with every row of the batch in place; several steps in one
    // batch (a resumed replay) are told as one change holding all their events.
    const before = this.pendingChange;
    this.pendingChange = before
      ? { ...change, events: [...before.events, ...change.events], reset: before.reset || change.reset }
      : change;
    this.registry.cache.touch(this.model, this.cacheListener);
  }

  private readonly cacheListener = (changed: ReadonlySet<string>): void => this.cacheChanged(changed);

  private cacheChanged(changed: ReadonlySet<string>): void {
    const change = this.pendingChange;
    this.pendingChange = undefined;
    if (!change && ![...changed].some((key) => this.ids.has(key))) return;
    if (this.state === 'closed' || this.seq < 0) return;
    const value = this.value;
    for (const listener of this.listeners) listener(value, change ?? { seq: this.seq, events: [], reset: false, source: 'local' });
  }
}
