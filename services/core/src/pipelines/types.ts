import type { JsonValue } from '@allsource/types';

/**
 * A pipeline's configuration as validated and stored (the canonical form `GET
 * /api/v1/pipelines/:id` answers and `DATA_DIR/pipelines/<id>.json` holds). Field names are the
 * wire's snake_case so that the stored file, the request and the answer are the same document.
 */
export interface PipelineConfig {
  id: string;
  name: string;
  description: string | null;
  /** Event types the pipeline consumes; empty: every event type. */
  source_event_types: string[];
  operators: OperatorConfig[];
  enabled: boolean;
}

export type FilterOp = 'eq' | 'ne' | 'gt' | 'lt' | 'contains';
export const FILTER_OPS: readonly FilterOp[] = ['eq', 'ne', 'gt', 'lt', 'contains'];

export interface FilterConfig {
  type: 'filter';
  field: string;
  op: FilterOp;
  value: JsonValue;
}

/** `uppercase`, `lowercase`, `trim`, `multiply:<n>`, `add:<n>`. */
export interface MapConfig {
  type: 'map';
  field: string;
  transform: string;
}

export type ReduceFunction = 'count' | 'sum' | 'avg' | 'min' | 'max';
export const REDUCE_FUNCTIONS: readonly ReduceFunction[] = ['count', 'sum', 'avg', 'min', 'max'];

export interface ReduceConfig {
  type: 'reduce';
  /** The number aggregated; `null` only for `count` (which counts events). */
  field: string | null;
  function: ReduceFunction;
  group_by: string | null;
}

export type WindowType = 'tumbling' | 'sliding' | 'session';
export const WINDOW_TYPES: readonly WindowType[] = ['tumbling', 'sliding', 'session'];

export interface WindowSpec {
  window_type: WindowType;
  /** Window length (tumbling, sliding); for session windows the optional maximum session length. */
  size_seconds: number | null;
  /** Sliding windows only: a new window starts every `slide_seconds`. */
  slide_seconds: number | null;
  /** Session windows only: the gap of inactivity that closes a session. */
  session_timeout_seconds: number | null;
}

export interface WindowConfig {
  type: 'window';
  config: WindowSpec;
  aggregation: ReduceConfig;
}

/**
 * `metadata` (the event's metadata), `event` (its envelope: id, entity_id, event_type,
 * tenant_id, timestamp, version), `entity` (the current state of the event's entity) or
 * `entity:<path>` (the current state of the entity whose id is the payload value at `<path>`).
 */
export interface EnrichConfig {
  type: 'enrich';
  source: string;
  fields: string[];
}

export interface BranchConfig {
  type: 'branch';
  field: string;
  /** Payload value (as text) → route. */
  branches: Record<string, string>;
  /** Route of events whose value matches no branch. */
  default_route: string;
}

export type OperatorConfig = FilterConfig | MapConfig | ReduceConfig | WindowConfig | EnrichConfig | BranchConfig;

export const OPERATOR_TYPES = ['filter', 'map', 'reduce', 'window', 'enrich', 'branch'] as const;

/** Envelope fields an `enrich` operator with `source: "event"` can copy. */
export const EVENT_ENVELOPE_FIELDS = ['id', 'entity_id', 'event_type', 'tenant_id', 'timestamp', 'version'] as const;
