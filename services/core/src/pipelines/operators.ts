import { isDeepStrictEqual } from 'node:util';
import { formatTimestamp } from '../events/timestamps';
import { Aggregation, GroupBudget, GroupTable, PipelineEventError, jsonKind, valueText } from './aggregate';
import { getPath, PathError, setPath, splitPath } from './paths';
import type { PipelineEvent } from './pipelineEvent';
import type { BranchConfig, EnrichConfig, FilterConfig, MapConfig, OperatorConfig, ReduceConfig, WindowConfig } from './types';
import { FixedWindows, SessionWindows, type WindowLimits, type WindowState } from './windows';

/** One event on its way through one pipeline. */
export interface EventContext {
  readonly input: PipelineEvent;
  /** The working payload: the shared parsed payload until an operator writes, then a private copy. */
  payload: unknown;
  owned: boolean;
  /** Set by a `branch` operator; aggregations after it keep their groups per route. */
  route: string | null;
}

/** Make the context's payload private before writing to it. */
function writable(ctx: EventContext): unknown {
  if (!ctx.owned) {
    ctx.payload = structuredClone(ctx.payload);
    ctx.owned = true;
  }
  return ctx.payload;
}

export interface OperatorRuntime {
  /** Apply to one event; false drops the event (filter). Throws PipelineEventError on a failure. */
  apply(ctx: EventContext): boolean;
  /** Windows only: move the watermark. */
  advance?(timeUs: number, thorough: boolean): void;
  /** This operator's part of GET /results. */
  result(index: number): Record<string, unknown>;
  /** Forget all state (PUT /reset). */
  reset(): void;
}

export interface OperatorOptions {
  maxGroups: number;
  maxClosedWindows: number;
  windowLatenessUs: number;
  /**
   * The current state of an entity when it is known without waiting (synchronous, bounded), or
   * undefined. Used by `enrich` with source `entity` / `entity:<path>`.
   */
  entityState?: ((entityId: string) => unknown) | undefined;
  /** Called when `entityState` did not know an entity (e.g. to load it for later events). */
  onEntityMiss?: ((entityId: string) => void) | undefined;
}

export function createOperator(config: OperatorConfig, opts: OperatorOptions): OperatorRuntime {
  switch (config.type) {
    case 'filter':
      return new FilterOperator(config);
    case 'map':
      return new MapOperator(config);
    case 'reduce':
      return new ReduceOperator(config, opts);
    case 'window':
      return new WindowOperator(config, opts);
    case 'enrich':
      return new EnrichOperator(config, opts);
    case 'branch':
      return new BranchOperator(config);
  }
}

/**
 * `filter {field, op, value}`: keeps events whose field matches. A missing field never matches
 * (not even `ne`). eq/ne compare JSON values deeply (1 ≠ "1"); gt/lt compare two numbers or two
 * strings (other pairs do not match); contains: substring of a string, element of an array, or
 * key of an object.
 */
class FilterOperator implements OperatorRuntime {
  private readonly path: string[];
  private dropped = 0;

  constructor(private readonly config: FilterConfig) {
    this.path = splitPath(config.field);
  }

  apply(ctx: EventContext): boolean {
    const keep = this.matches(getPath(ctx.payload, this.path));
    if (!keep) this.dropped++;
    return keep;
  }

  private matches(v: unknown): boolean {
    if (v === undefined) return false;
    const want = this.config.value;
    switch (this.config.op) {
      case 'eq':
        return isDeepStrictEqual(v, want);
      case 'ne':
        return !isDeepStrictEqual(v, want);
      case 'gt':
      case 'lt': {
        if (!((typeof v === 'number' && typeof want === 'number') || (typeof v === 'string' && typeof want === 'string'))) return false;
        return this.config.op === 'gt' ? v > want : v < want;
      }
      case 'contains':
        if (typeof v === 'string') return typeof want === 'string' && v.includes(want);
        if (Array.isArray(v)) return v.some((e) => isDeepStrictEqual(e, want));
        if (typeof v === 'object' && v !== null) {
          return typeof want === 'string' && Object.prototype.hasOwnProperty.call(v, want);
        }
        return false;
    }
  }

  result(index: number): Record<string, unknown> {
    return { index, type: 'filter', field: this.config.field, op: this.config.op, events_dropped: this.dropped };
  }

  reset(): void {
    this.dropped = 0;
  }
}

/**
 * `map {field, transform}` on the pipeline's copy of the payload (the stored event never changes).
 * A missing field is left missing; a value of the wrong type (uppercase on a number, multiply on
 * a string) fails the event.
 */
class MapOperator implements OperatorRuntime {
  private readonly path: string[];
  private readonly kind: 'uppercase' | 'lowercase' | 'trim' | 'multiply' | 'add';
  private readonly operand: number;

  constructor(private readonly config: MapConfig) {
    this.path = splitPath(config.field);
    const [kind, n] = config.transform.split(':') as [MapOperator['kind'], string | undefined];
    this.kind = kind;
    this.operand = n === undefined ? 0 : Number(n);
  }

  apply(ctx: EventContext): boolean {
    const v = getPath(ctx.payload, this.path);
    if (v === undefined) return true;
    let out: unknown;
    if (this.kind === 'multiply' || this.kind === 'add') {
      if (typeof v !== 'number') throw new PipelineEventError(`map ${this.config.transform}: field '${this.config.field}' is not a number (got ${jsonKind(v)})`);
      out = this.kind === 'multiply' ? v * this.operand : v + this.operand;
      if (!Number.isFinite(out)) throw new PipelineEventError(`map ${this.config.transform}: the result for field '${this.config.field}' is not a finite number`);
    } else {
      if (typeof v !== 'string') throw new PipelineEventError(`map ${this.kind}: field '${this.config.field}' is not a string (got ${jsonKind(v)})`);
      out = this.kind === 'uppercase' ? v.toUpperCase() : this.kind === 'lowercase' ? v.toLowerCase() : v.trim();
    }
    setPath(writable(ctx), this.path, out);
    return true;
  }

  result(index: number): Record<string, unknown> {
    return { index, type: 'map', field: this.config.field, transform: this.config.transform };
  }

  reset(): void {}
}

/** `reduce {field, function, group_by?}`: a running aggregate per group (per route after a branch). */
class ReduceOperator implements OperatorRuntime {
  private readonly aggregation: Aggregation;
  private budget: GroupBudget;
  private table: GroupTable;

  constructor(
    private readonly config: ReduceConfig,
    private readonly opts: OperatorOptions,
  ) {
    this.aggregation = new Aggregation(config);
    this.budget = new GroupBudget(opts.maxGroups);
    this.table = new GroupTable(this.budget);
  }

  apply(ctx: EventContext): boolean {
    const value = this.aggregation.input(ctx.payload);
    this.table.add(ctx.route, this.aggregation.group(ctx.payload), value);
    return true;
  }

  result(index: number): Record<string, unknown> {
    return {
      index,
      type: 'reduce',
      function: this.config.function,
      field: this.config.field,
      group_by: this.config.group_by,
      groups: this.table.results(this.config.function),
      events_folded: this.budget.foldedEvents,
    };
  }

  reset(): void {
    this.budget = new GroupBudget(this.opts.maxGroups);
    this.table = new GroupTable(this.budget);
  }
}

/** `window {config, aggregation}`: the aggregation per group within each event-time window. */
class WindowOperator implements OperatorRuntime {
  private readonly aggregation: Aggregation;
  private readonly state: WindowState;

  constructor(
    private readonly config: WindowConfig,
    opts: OperatorOptions,
  ) {
    this.aggregation = new Aggregation(config.aggregation);
    const limits: WindowLimits = {
      maxGroups: opts.maxGroups,
      maxClosedWindows: opts.maxClosedWindows,
      latenessUs: opts.windowLatenessUs,
    };
    this.state =
      config.config.window_type === 'session'
        ? new SessionWindows(config.config, config.aggregation.function, limits)
        : new FixedWindows(config.config, config.aggregation.function, limits);
  }

  apply(ctx: EventContext): boolean {
    const value = this.aggregation.input(ctx.payload);
    const t = ctx.input.event.timestampUs;
    // Event time moves first: windows this event has passed close (and free their groups) before it is added.
    this.state.advance(t, false);
    this.state.add(t, ctx.route, this.aggregation.group(ctx.payload), value);
    return true;
  }

  advance(timeUs: number, thorough: boolean): void {
    this.state.advance(timeUs, thorough);
  }

  result(index: number): Record<string, unknown> {
    const { config, aggregation } = this.config;
    return {
      index,
      type: 'window',
      window_type: config.window_type,
      size_seconds: config.size_seconds,
      slide_seconds: config.slide_seconds,
      session_timeout_seconds: config.session_timeout_seconds,
      function: aggregation.function,
      field: aggregation.field,
      group_by: aggregation.group_by,
      ...this.state.results(),
    };
  }

  reset(): void {
    this.state.reset();
  }
}

/**
 * `enrich {source, fields}`: copies `fields` (dot paths) from a source into the payload copy, at
 * the same path. Sources: `metadata` (the event's metadata), `event` (envelope fields), `entity`
 * (the current state of the event's own entity, this event included) and `entity:<path>` (the
 * current state of the entity whose id is the payload's value at `<path>`). Entity states come
 * from the `entity_snapshots` projection's bounded cache without waiting; an entity not in it is
 * a miss (nothing copied) and is loaded in the background for later events. Fields a source does
 * not have are skipped.
 */
class EnrichOperator implements OperatorRuntime {
  private readonly fields: Array<{ name: string; path: string[] }>;
  private readonly entityPath: string[] | undefined;
  private hits = 0;
  private misses = 0;

  constructor(
    private readonly config: EnrichConfig,
    private readonly opts: OperatorOptions,
  ) {
    this.fields = config.fields.map((name) => ({ name, path: splitPath(name) }));
    this.entityPath = config.source.startsWith('entity:') ? splitPath(config.source.slice('entity:'.length)) : undefined;
  }

  apply(ctx: EventContext): boolean {
    const source = this.source(ctx);
    if (source === undefined) {
      this.misses++;
      return true;
    }
    let copied = 0;
    for (const f of this.fields) {
      const v = this.config.source === 'event' ? source[f.name] : getPath(source, f.path);
      if (v === undefined) continue;
      try {
        setPath(writable(ctx), f.path, typeof v === 'object' && v !== null ? structuredClone(v) : v);
      } catch (err) {
        if (err instanceof PathError) throw new PipelineEventError(`enrich from ${this.config.source}: ${err.message}`);
        throw err;
      }
      copied++;
    }
    if (copied > 0) this.hits++;
    else this.misses++;
    return true;
  }

  private source(ctx: EventContext): Record<string, unknown> | undefined {
    const e = ctx.input.event;
    switch (this.config.source) {
      case 'metadata': {
        const md = ctx.input.metadata;
        return typeof md === 'object' && md !== null ? (md as Record<string, unknown>) : undefined;
      }
      case 'event':
        return {
          id: e.id,
          entity_id: e.entityId,
          event_type: e.eventType,
          tenant_id: e.tenantId,
          timestamp: formatTimestamp(e.timestampUs),
          version: e.version,
        };
      default: {
        const entityId = this.entityPath ? getPath(ctx.payload, this.entityPath) : e.entityId;
        if (typeof entityId !== 'string' || entityId === '') return undefined;
        const state = this.opts.entityState?.(entityId);
        if (state === undefined) {
          this.opts.onEntityMiss?.(entityId);
          return undefined;
        }
        return typeof state === 'object' && state !== null ? (state as Record<string, unknown>) : undefined;
      }
    }
  }

  result(index: number): Record<string, unknown> {
    return { index, type: 'enrich', source: this.config.source, fields: this.config.fields, hits: this.hits, misses: this.misses };
  }

  reset(): void {
    this.hits = 0;
    this.misses = 0;
  }
}

/**
 * `branch {field, branches, default_route?}`: routes each event by its field's value (as text;
 * missing or unmatched → `default_route`, "default" unless set). The route is counted here and
 * carried to the aggregations after this operator, which keep their groups per route.
 */
class BranchOperator implements OperatorRuntime {
  private readonly path: string[];
  private counts = new Map<string, number>();

  constructor(private readonly config: BranchConfig) {
    this.path = splitPath(config.field);
  }

  apply(ctx: EventContext): boolean {
    const key = valueText(getPath(ctx.payload, this.path));
    const routed = key !== null && Object.prototype.hasOwnProperty.call(this.config.branches, key) ? this.config.branches[key] : undefined;
    const route = routed ?? this.config.default_route;
    ctx.route = route;
    // Bounded: the routes are the configured ones plus the default.
    this.counts.set(route, (this.counts.get(route) ?? 0) + 1);
    return true;
  }

  result(index: number): Record<string, unknown> {
    const routes = [...this.counts].map(([route, count]) => ({ route, count })).sort((a, b) => (a.route < b.route ? -1 : a.route > b.route ? 1 : 0));
    return { index, type: 'branch', field: this.config.field, default_route: this.config.default_route, routes };
  }

  reset(): void {
    this.counts = new Map();
  }
}
