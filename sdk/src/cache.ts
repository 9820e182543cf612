/**
 * The normalized cache: one copy of each row's own fields, by model and id, that live events, answers to reads
 * and writes, and optimistic updates all write to, and that live views read from. A row's relations are not kept
 * here: two views may include one relation with different arguments (a room's members filtered on one page, all
 * of them on another), so each live view keeps the relations it was sent ([`relationsOf`]). Owns the order of truth (a row is only
 * replaced by news at least as recent, by change-log `seq`), optimistic layers (applied on top of the server's
 * rows and removed on success or refusal), and batching (listeners hear once per batch, not once per event).
 */
import type { IdValue, Obj } from './types.js';

/** The cache's key of an id: the same for `5`, `[5]` or a compound id's parts. */
export function keyOf(id: IdValue): string {
  return JSON.stringify(Array.isArray(id) ? (id.length === 1 ? id[0] : id) : id);
}

interface Entry {
  row: Obj;
  /** The change-log position this row is known at (0 when unknown). */
  seq: number;
}

interface Layer {
  id: number;
  model: string;
  key: string;
  /** A patch of fields, or `null`: the row is (optimistically) deleted. */
  patch: Obj | null;
}

/** Hears about the keys of a model that changed in a batch, or that it was `touch`ed. */
export type CacheListener = (changedKeys: ReadonlySet<string>) => void;

/** A model's relation names, when the schema's types give them (generated code's `$models`). */
export type RelationNames = (model: string) => readonly string[] | undefined;

export class NormalizedCache {
  constructor(private readonly relationNames: RelationNames = () => undefined) {}

  /**
   * The fields of `row` that are relations: those the schema names, or without schema facts every field holding
   * an object or a list (a relation's rows; a `Json` field holding one is then kept per view too).
   */
  relationsOf(model: string, row: Obj): Set<string> {
    const names = this.relationNames(model);
    if (names) return new Set(names.filter((name) => name in row));
    return new Set(Object.keys(row).filter((field) => row[field] !== null && typeof row[field] === 'object' && !(row[field] instanceof Date)));
  }

  private readonly rows = new Map<string, Map<string, Entry>>();
  private layers: Layer[] = [];
  private nextLayer = 1;
  private readonly listeners = new Map<string, Set<CacheListener>>();
  private depth = 0;
  private readonly dirty = new Map<string, Set<string>>();
  private readonly touched = new Map<CacheListener, string>();

  /** The row as the application should see it: the server's, with pending optimistic changes on top. */
  get<Row extends object = Obj>(model: string, id: IdValue | string, isKey = false): Row | undefined {
    const key = isKey ? (id as string) : keyOf(id as IdValue);
    let row: Obj | undefined = this.rows.get(model)?.get(key)?.row;
    for (const layer of this.layers) {
      if (layer.model !== model || layer.key !== key) continue;
      if (layer.patch === null) return undefined;
      row = row ? { ...row, ...layer.patch } : undefined;
    }
    return row as Row | undefined;
  }

  /** The row as the server last said it, without optimistic changes. */
  getConfirmed(model: string, id: IdValue): Obj | undefined {
    return this.rows.get(model)?.get(keyOf(id))?.row;
  }

  /**
   * Stores what the server said of a row at `seq` (0: unknown, always taken): its own fields, not its relations.
   * Fields merge into the stored row, since different queries may select different fields of it; news older than
   * the stored row is ignored.
   */
  write(model: string, id: IdValue, row: Obj, seq = 0): void {
    const relations = this.relationsOf(model, row);
    if (relations.size) row = Object.fromEntries(Object.entries(row).filter(([field]) => !relations.has(field)));
    const key = keyOf(id);
    let table = this.rows.get(model);
    if (!table) this.rows.set(model, (table = new Map()));
    const entry = table.get(key);
    if (entry && seq !== 0 && entry.seq > seq) return;
    table.set(key, { row: entry ? { ...entry.row, ...row } : { ...row }, seq: Math.max(seq, entry?.seq ?? 0) });
    this.changed(model, key);
  }

  /** The row was deleted at `seq`. */
  remove(model: string, id: IdValue, seq = 0): void {
    const key = keyOf(id);
    const entry = this.rows.get(model)?.get(key);
    if (!entry || (seq !== 0 && entry.seq > seq)) return;
    this.rows.get(model)?.delete(key);
    this.changed(model, key);
  }

  /** Adds an optimistic change (a patch, or `null` for a delete); returns its handle for `dropLayer`. */
  addLayer(model: string, id: IdValue, patch: Obj | null): number {
    const layer: Layer = { id: this.nextLayer++, model, key: keyOf(id), patch };
    this.layers.push(layer);
    this.changed(model, layer.key);
    return layer.id;
  }

  /** Removes an optimistic change: the row shows the server's data again (rollback, or the write confirmed). */
  dropLayer(handle: number): void {
    const layer = this.layers.find((l) => l.id === handle);
    if (!layer) return;
    this.layers = this.layers.filter((l) => l.id !== handle);
    this.changed(layer.model, layer.key);
  }

  /** Hears about changes to rows of `model`. */
  listen(model: string, listener: CacheListener): () => void {
    let set = this.listeners.get(model);
    if (!set) this.listeners.set(model, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Makes `listener` hear at the end of the current batch even if none of its rows changed (its order did). */
  touch(model: string, listener: CacheListener): void {
    this.touched.set(listener, model);
    if (this.depth === 0) this.flush();
  }

  /** Runs `fn`, then notifies each listener once for everything it changed. */
  batch<T>(fn: () => T): T {
    this.depth += 1;
    try {
      return fn();
    } finally {
      this.depth -= 1;
      if (this.depth === 0) this.flush();
    }
  }

  private changed(model: string, key: string): void {
    let set = this.dirty.get(model);
    if (!set) this.dirty.set(model, (set = new Set()));
    set.add(key);
    if (this.depth === 0) this.flush();
  }

  private flush(): void {
    const dirty = new Map(this.dirty);
    const touched = new Map(this.touched);
    this.dirty.clear();
    this.touched.clear();
    const calls = new Map<CacheListener, Set<string>>();
    for (const [model, keys] of dirty) {
      for (const listener of this.listeners.get(model) ?? []) calls.set(listener, keys);
    }
    for (const listener of touched.keys()) if (!calls.has(listener)) calls.set(listener, new Set());
    for (const [listener, keys] of calls) listener(keys);
  }
}
