/**
 * Typed, code-defined projections.
 *
 * A projection is a fold over the event log: `init()` gives the empty state and `apply(state, event)`
 * folds one event into it, either by changing `state` in place (return nothing) or by returning
 * the new state. Two shapes:
 *
 *   // One state for the whole log.
 *   const revenue = defineProjection({
 *     name: 'revenue',
 *     init: () => ({ orders: 0, total: 0 }),
 *     apply(state, event) {
 *       if (event.eventType !== 'order.placed') return;
 *       state.orders += 1;
 *       state.total += Number((event.payload as { amount?: number }).amount ?? 0);
 *     },
 *   });
 *
 *   // One state per key (here per entity); `key` returning undefined skips the event.
 *   const cartItems = defineProjection({
 *     name: 'cart_items',
 *     key: (event) => (event.eventType.startsWith('cart.') ? event.entityId : undefined),
 *     init: () => 0,
 *     apply: (count, event) => (event.eventType === 'cart.item_added' ? count + 1 : count),
 *     maxKeys: 50_000,
 *   });
 *
 *   await startCore(config, { logger, extraProjections: [revenue, cartItems] });
 *   revenue.current();        // typed: { orders: number; total: number }
 *   cartItems.get('cart-42'); // typed: number | undefined
 *
 * The core feeds it every stored event at start and every committed event afterwards, serves it on
 * `GET /api/v1/projections` and `/api/v1/projections/:name/state`, and rebuilds it on
 * `POST /api/v1/replay {"projection_name": …}` (into a fresh `init()` state, swapped in at the end).
 *
 * Rules: `apply` runs synchronously on the commit path, so keep it cheap and never block. An
 * `apply` that throws is counted (`allsource_projection_errors_total`) and logged, the event is
 * skipped for this projection only; ingestion and the other projections go on. When it throws,
 * `apply` should leave the state as it was (the immutable style — return a new state — does).
 * Treat `event.payload` and `event.metadata` as read-only. State must be JSON-serializable
 * (Maps and Sets are answered as objects and arrays).
 */
import type { JsonValue } from '@allsource/types';
import type { StoredEvent } from '../events/storedEvent';
import { formatTimestamp } from '../events/timestamps';
import type { Projection } from './projection';

/** The event as a projection sees it. `payload`, `metadata` and `timestamp` are computed on first use. */
export interface ProjectionEvent {
  readonly id: string;
  readonly eventType: string;
  readonly entityId: string;
  readonly tenantId: string;
  /** Per-entity sequence number (1 for an entity's first event). */
  readonly version: number;
  /** Global ingest order, strictly increasing. */
  readonly lsn: number;
  /** Microseconds since the Unix epoch. */
  readonly timestampUs: number;
  /** RFC 3339, UTC. */
  readonly timestamp: string;
  readonly payload: JsonValue;
  readonly metadata: JsonValue | null;
}

class EventView implements ProjectionEvent {
  private parsedPayload: JsonValue | undefined;
  private parsedMetadata: JsonValue | null | undefined;

  constructor(private readonly e: StoredEvent) {}

  get id(): string {
    return this.e.id;
  }
  get eventType(): string {
    return this.e.eventType;
  }
  get entityId(): string {
    return this.e.entityId;
  }
  get tenantId(): string {
    return this.e.tenantId;
  }
  get version(): number {
    return this.e.version;
  }
  get lsn(): number {
    return this.e.lsn;
  }
  get timestampUs(): number {
    return this.e.timestampUs;
  }
  get timestamp(): string {
    return formatTimestamp(this.e.timestampUs);
  }
  get payload(): JsonValue {
    return (this.parsedPayload ??= JSON.parse(this.e.payloadJson) as JsonValue);
  }
  get metadata(): JsonValue | null {
    if (this.parsedMetadata === undefined) {
      this.parsedMetadata = this.e.metadataJson === null ? null : (JSON.parse(this.e.metadataJson) as JsonValue);
    }
    return this.parsedMetadata;
  }
}

/** Wrap a stored event in the view projections receive. */
export function projectionEvent(event: StoredEvent): ProjectionEvent {
  return new EventView(event);
}

/** Default cap on the keys of a keyed projection. */
export const DEFAULT_PROJECTION_MAX_KEYS = 100_000;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface ProjectionSpec<S> {
  /** 1–128 of letters, digits, `_`, `.`, `-` (it appears in URLs and metric labels). */
  name: string;
  /** The empty state (of the whole projection, or of one key when `key` is given). */
  init(): S;
  /** Fold one event into `state`: change it in place and return nothing, or return the new state. */
  apply(state: S, event: ProjectionEvent): S | void;
}

export interface KeyedProjectionSpec<S> extends ProjectionSpec<S> {
  /** The key the event belongs to (e.g. `event.entityId`); `undefined` skips the event. */
  key(event: ProjectionEvent): string | undefined;
  /**
   * Most keys kept (default 100 000). An event for a new key past it is refused with an error
   * (counted and logged like any failing `apply`); keys already present keep being updated.
   */
  maxKeys?: number;
}

/** Thrown (and counted as a projection error) when a keyed projection is full. */
export class ProjectionKeyLimitError extends Error {
  constructor(name: string, maxKeys: number, key: string) {
    super(`projection '${name}' holds its maximum of ${maxKeys} keys; event for new key '${key}' skipped`);
    this.name = 'ProjectionKeyLimitError';
  }
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TypeError(`projection name must be 1-128 letters, digits, '_', '.' or '-' (starting with a letter or digit), got ${JSON.stringify(name)}`);
  }
  return name;
}

/** A code-defined projection with one state for the whole log. */
export class SingleStateProjection<S> implements Projection {
  readonly name: string;
  private value: S;

  constructor(private readonly spec: ProjectionSpec<S>) {
    this.name = checkName(spec.name);
    this.value = spec.init();
  }

  /** The current state. */
  current(): S {
    return this.value;
  }

  apply(event: StoredEvent): void {
    const next = this.spec.apply(this.value, new EventView(event));
    if (next !== undefined) this.value = next;
  }

  state(key?: string): unknown {
    if (key === undefined) return this.value;
    const v: unknown = this.value;
    if (v instanceof Map) return (v as Map<unknown, unknown>).get(key);
    if (isPlainObject(v)) return Object.prototype.hasOwnProperty.call(v, key) ? v[key] : undefined;
    return undefined;
  }

  keys(): Iterable<string> | undefined {
    const v: unknown = this.value;
    if (v instanceof Map) return stringKeys(v as Map<unknown, unknown>);
    if (isPlainObject(v)) return Object.keys(v);
    return undefined;
  }

  reset(): void {
    this.value = this.spec.init();
  }

  fork(): SingleStateProjection<S> {
    return new SingleStateProjection(this.spec);
  }

  adopt(rebuilt: Projection): void {
    if (!(rebuilt instanceof SingleStateProjection) || rebuilt.spec !== this.spec) {
      throw new TypeError(`projection '${this.name}' can only adopt a fork of itself`);
    }
    this.value = (rebuilt as SingleStateProjection<S>).value;
  }
}

/** A code-defined projection with one state per key. */
export class KeyedProjection<S> implements Projection {
  readonly name: string;
  readonly maxKeys: number;
  private states = new Map<string, S>();

  constructor(private readonly spec: KeyedProjectionSpec<S>) {
    this.name = checkName(spec.name);
    const max = spec.maxKeys ?? DEFAULT_PROJECTION_MAX_KEYS;
    if (!Number.isSafeInteger(max) || max < 1) throw new TypeError(`maxKeys of projection '${this.name}' must be a positive integer`);
    this.maxKeys = max;
  }

  /** The state of one key, or undefined when no event has reached it. */
  get(key: string): S | undefined {
    return this.states.get(key);
  }

  /** Number of keys held. */
  get size(): number {
    return this.states.size;
  }

  /** Every key with its state, in first-seen order. */
  entries(): IterableIterator<[string, S]> {
    return this.states.entries();
  }

  apply(event: StoredEvent): void {
    const view = new EventView(event);
    const key = this.spec.key(view);
    if (key === undefined) return;
    let state = this.states.get(key);
    const known = state !== undefined || this.states.has(key);
    if (!known) {
      if (this.states.size >= this.maxKeys) throw new ProjectionKeyLimitError(this.name, this.maxKeys, key);
      state = this.spec.init();
    }
    const next = this.spec.apply(state as S, view);
    if (next !== undefined) this.states.set(key, next);
    else if (!known) this.states.set(key, state as S);
  }

  state(key?: string): unknown {
    if (key === undefined) return this.states;
    return this.states.get(key);
  }

  keys(): Iterable<string> {
    return this.states.keys();
  }

  reset(): void {
    this.states = new Map();
  }

  fork(): KeyedProjection<S> {
    return new KeyedProjection(this.spec);
  }

  adopt(rebuilt: Projection): void {
    if (!(rebuilt instanceof KeyedProjection) || rebuilt.spec !== this.spec) {
      throw new TypeError(`projection '${this.name}' can only adopt a fork of itself`);
    }
    this.states = (rebuilt as KeyedProjection<S>).states;
  }
}

/** Define a projection with one state per key (see the file comment for an example). */
export function defineProjection<S>(spec: KeyedProjectionSpec<S>): KeyedProjection<S>;
/** Define a projection with one state for the whole log (see the file comment for an example). */
export function defineProjection<S>(spec: ProjectionSpec<S>): SingleStateProjection<S>;
export function defineProjection<S>(spec: ProjectionSpec<S> | KeyedProjectionSpec<S>): Projection {
  if (typeof spec.init !== 'function' || typeof spec.apply !== 'function') {
    throw new TypeError('a projection needs init() and apply(state, event)');
  }
  if ('key' in spec && spec.key !== undefined) {
    if (typeof spec.key !== 'function') throw new TypeError('key must be a function of the event');
    return new KeyedProjection(spec);
  }
  return new SingleStateProjection(spec);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function* stringKeys(map: Map<unknown, unknown>): Iterable<string> {
  for (const k of map.keys()) if (typeof k === 'string') yield k;
}
