/**
 * The live bridge between one ssot client and one TanStack `QueryClient`: it owns the live subscriptions behind
 * the hooks' queries (one per query key, shared by every component showing it, counted, and ended a moment after
 * the last lets go), writes each change into the query cache with `setQueryData` (so components re-render with
 * live data), starts a subscription from the query's data and `seq` when it has them (hydrated from a server:
 * resumed with `since`), and falls back to plain reads when the server refuses a subscription. It also keeps
 * channels joined while components use them, and brings queries up to date after this client's writes.
 */
import type { QueryClient, QueryKey } from '@tanstack/react-query';
import { hashKey } from '@tanstack/react-query';
import { SsotError, type Channel, type LiveQuery, type Member } from '../index.js';
import { ssotModelKey, type SsotQueryData } from './keys.js';
import type { AnyClient, LiveSpec, ReadSpec } from './specs.js';

export interface BridgeOptions {
  /** Whether hooks follow their reads live unless told otherwise (`live` option). */
  live: boolean;
  /**
   * How long a subscription or a channel nobody holds any more is kept (ms): a component that unmounts and one
   * that mounts in the same moment (a route change, Strict Mode's second mount, Suspense resolving) share it.
   */
  lingerMs: number;
  /** Hears a subscription the server refused (the hook then reads without following). */
  onLiveError: ((error: SsotError, queryKey: QueryKey) => void) | undefined;
}

interface LiveEntry {
  hash: string;
  model: string;
  /** Undefined once the server refused the subscription: the query is read without it. */
  live: LiveQuery<unknown, unknown> | undefined;
  holders: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  stop: () => void;
}

interface ChannelEntry {
  channel: Channel<unknown, unknown>;
  holders: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  joined: Promise<Array<Member<unknown>>>;
}

export class LiveBridge {
  options: BridgeOptions = { live: typeof window !== 'undefined', lingerMs: 1_000, onLiveError: undefined };
  private readonly entries = new Map<string, LiveEntry>();
  private readonly channels = new Map<string, ChannelEntry>();

  constructor(
    readonly client: AnyClient,
    readonly queryClient: QueryClient,
  ) {}

  /** A mounted hook holds its query's subscription; the returned function lets go (once). */
  hold(spec: ReadSpec<unknown>, live: LiveSpec): () => void {
    const entry = this.ensure(spec, live);
    entry.holders += 1;
    clearTimeout(entry.timer);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      entry.holders -= 1;
      if (entry.holders === 0) this.linger(entry);
    };
  }

  /**
   * A live query's `queryFn`: its subscription's value once the server has answered (a snapshot, or the replay
   * after the hydrated `seq`), or a plain read when the server refuses it.
   */
  async fetch(spec: ReadSpec<unknown>, live: LiveSpec): Promise<SsotQueryData<unknown>> {
    const entry = this.ensure(spec, live);
    // Started for a fetch alone (a prefetch on the client, Suspense before its component mounts): not kept for ever.
    if (entry.holders === 0) this.linger(entry);
    const query = entry.live;
    if (query) {
      try {
        await query.ready;
        return { data: live.toData(query.value), seq: query.seq };
      } catch {
        // Refused (`ensure` reported it) or closed: read plainly.
      }
    }
    return this.read(spec);
  }

  /** A plain `queryFn`: one read, unless the cache already holds newer data (a live change came meanwhile). */
  async read(spec: ReadSpec<unknown>): Promise<SsotQueryData<unknown>> {
    const fetched = await spec.read();
    const current = this.queryClient.getQueryData<SsotQueryData<unknown>>(spec.key);
    return current && current.seq > fetched.seq ? current : fetched;
  }

  /** Whether a live subscription keeps the query with this hash current (so it needs no refetch after a write). */
  isLive(queryHash: string): boolean {
    return this.entries.get(queryHash)?.live?.state === 'live';
  }

  /** After this client's write to `model`: refetches the model's queries nothing follows live. */
  async afterWrite(model: string): Promise<void> {
    // The write resolved once every live query of the client showed it (the delegate's read-your-writes); the
    // reads that are not live are read again.
    await this.queryClient.invalidateQueries({ queryKey: ssotModelKey(model), predicate: (query) => !this.isLive(query.queryHash) });
  }

  /**
   * A mounted hook holds a channel joined; the function lets go. The first holder joins (with `state`, or null);
   * a later one that gives a `state` sets it (one connection, one presence state: the last given wins).
   */
  holdChannel<State, Payload>(
    name: string,
    state: State | null | undefined,
  ): { channel: Channel<State, Payload>; joined: Promise<Array<Member<State>>>; release: () => void } {
    let entry = this.channels.get(name);
    if (!entry) {
      const channel = this.client.$channel<unknown, unknown>(name);
      const joined = channel.join(state ?? null);
      joined.catch(() => undefined); // the hook reports it
      entry = { channel, holders: 0, timer: undefined, joined };
      this.channels.set(name, entry);
    } else if (state !== undefined) {
      entry.channel.setState(state);
    }
    const held = entry;
    held.holders += 1;
    clearTimeout(held.timer);
    let holding = true;
    const release = (): void => {
      if (!holding) return;
      holding = false;
      held.holders -= 1;
      if (held.holders > 0) return;
      held.timer = setTimeout(() => {
        if (held.holders > 0 || this.channels.get(name) !== held) return;
        this.channels.delete(name);
        held.channel.leave();
      }, this.options.lingerMs);
    };
    return { channel: held.channel as Channel<State, Payload>, joined: held.joined as Promise<Array<Member<State>>>, release };
  }

  /** The query's entry, its subscription started when there is none (or the one there ended). */
  private ensure(spec: ReadSpec<unknown>, live: LiveSpec): LiveEntry {
    const hash = hashKey(spec.key);
    const existing = this.entries.get(hash);
    if (existing && (existing.live === undefined || existing.live.state !== 'closed')) return existing;
    if (existing) this.drop(existing);
    // Data already here with its seq (hydrated from the server, or kept in the cache): start from it, resume after it.
    const current = this.queryClient.getQueryData<SsotQueryData<unknown>>(spec.key);
    const start = current && current.seq >= 0 ? { seq: current.seq, value: live.fromData(current.data) } : undefined;
    const query = live.subscribe(start);
    const stopChanges = query.onChange((value, change) => {
      this.queryClient.setQueryData<SsotQueryData<unknown>>(spec.key, { data: live.toData(value), seq: change.seq });
    });
    const entry: LiveEntry = { hash, model: live.model, live: query, holders: 0, timer: undefined, stop: stopChanges };
    this.entries.set(hash, entry);
    query.ready.catch((error: unknown) => {
      if (entry.live !== query) return;
      entry.live = undefined;
      stopChanges();
      if (error instanceof SsotError) this.options.onLiveError?.(error, spec.key);
    });
    return entry;
  }

  private linger(entry: LiveEntry): void {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      if (entry.holders === 0 && this.entries.get(entry.hash) === entry) this.drop(entry);
    }, this.options.lingerMs);
  }

  private drop(entry: LiveEntry): void {
    clearTimeout(entry.timer);
    this.entries.delete(entry.hash);
    entry.stop();
    entry.live?.unsubscribe();
  }
}

const bridges = new WeakMap<QueryClient, WeakMap<AnyClient, LiveBridge>>();

/** The one bridge of a query client and an ssot client (providers and helpers of the same pair share it). */
export function bridgeFor(client: AnyClient, queryClient: QueryClient): LiveBridge {
  let byClient = bridges.get(queryClient);
  if (!byClient) bridges.set(queryClient, (byClient = new WeakMap()));
  let bridge = byClient.get(client);
  if (!bridge) byClient.set(client, (bridge = new LiveBridge(client, queryClient)));
  return bridge;
}
