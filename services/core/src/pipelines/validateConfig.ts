import { randomUUID } from 'node:crypto';
import { AllSourceError } from '@allsource/errors';
import type { JsonValue } from '@allsource/types';
import { pathProblem } from './paths';
import {
  EVENT_ENVELOPE_FIELDS,
  FILTER_OPS,
  OPERATOR_TYPES,
  REDUCE_FUNCTIONS,
  WINDOW_TYPES,
  type BranchConfig,
  type EnrichConfig,
  type FilterConfig,
  type MapConfig,
  type OperatorConfig,
  type PipelineConfig,
  type ReduceConfig,
  type WindowConfig,
  type WindowSpec,
} from './types';

export interface ValidationLimits {
  maxOperators: number;
}

/** Bounds that are part of the format rather than deployment knobs (documented in docs/api.md). */
export const CONFIG_BOUNDS = {
  idMaxLength: 128,
  nameMaxLength: 128,
  descriptionMaxLength: 4096,
  sourceEventTypesMax: 1000,
  eventTypeMaxLength: 128,
  enrichFieldsMax: 64,
  branchesMax: 1000,
  routeMaxLength: 128,
  /** The whole config as canonical JSON (filter values and branch values are the open-ended parts). */
  configMaxBytes: 256 * 1024,
  /** A sliding window's size / slide: how many windows one event updates. */
  slidingWindowsPerEventMax: 100,
  /** Window sizes, slides and timeouts: 1 ms up to 366 days. */
  secondsMin: 0.001,
  secondsMax: 366 * 24 * 3600,
} as const;

/** Ids are used as file names and URL segments: letters, digits, `_`, `-`, `.` (not first). */
const ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;
/** Ids that would collide with a fixed route under /api/v1/pipelines/. */
const RESERVED_IDS = new Set(['stats']);
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const MAP_TRANSFORM = /^(uppercase|lowercase|trim|(multiply|add):(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))$/;

function invalid(message: string): AllSourceError {
  return new AllSourceError('INVALID_INPUT', message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw invalid(`${where}: unknown field '${key}' (allowed: ${allowed.join(', ')})`);
  }
}

function requiredString(obj: Record<string, unknown>, key: string, where: string): string {
  const v = obj[key];
  if (v === undefined) throw invalid(`${where}: '${key}' is required`);
  if (typeof v !== 'string') throw invalid(`${where}: '${key}' must be a string, got ${describe(v)}`);
  return v;
}

function path(obj: Record<string, unknown>, key: string, where: string): string {
  const v = requiredString(obj, key, where);
  const problem = pathProblem(v);
  if (problem) throw invalid(`${where}: '${key}' ${problem}`);
  return v;
}

function optionalPath(obj: Record<string, unknown>, key: string, where: string): string | null {
  if (obj[key] === undefined || obj[key] === null) return null;
  return path(obj, key, where);
}

function seconds(obj: Record<string, unknown>, key: string, where: string): number | null {
  const v = obj[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`${where}: '${key}' must be a number, got ${describe(v)}`);
  if (v < CONFIG_BOUNDS.secondsMin || v > CONFIG_BOUNDS.secondsMax) {
    throw invalid(`${where}: '${key}' must be between ${CONFIG_BOUNDS.secondsMin} and ${CONFIG_BOUNDS.secondsMax} seconds, got ${v}`);
  }
  return v;
}

function label(s: string, max: number, key: string, where: string): string {
  if (s.trim() === '') throw invalid(`${where}: '${key}' must not be blank`);
  if (s.length > max) throw invalid(`${where}: '${key}' must be at most ${max} characters`);
  if (CONTROL_CHARS.test(s)) throw invalid(`${where}: '${key}' must not contain control characters`);
  return s;
}

/**
 * Validate a PipelineConfig request body and return its canonical form. Every problem is a 400
 * `Invalid input:` naming the field (e.g. `operators[2] (window): config.slide_seconds is required
 * for sliding windows`). Without an `id` a UUID is generated; `enabled` defaults to true.
 */
export function validatePipelineConfig(body: unknown, limits: ValidationLimits): PipelineConfig {
  if (!isObject(body)) throw invalid(`the pipeline config must be a JSON object, got ${describe(body)}`);
  const where = 'pipeline';
  onlyKeys(body, ['id', 'name', 'description', 'source_event_types', 'operators', 'enabled'], where);

  let id: string;
  if (body.id === undefined || body.id === null) {
    id = randomUUID();
  } else {
    id = requiredString(body, 'id', where);
    if (id.length === 0 || id.length > CONFIG_BOUNDS.idMaxLength || !ID_PATTERN.test(id)) {
      throw invalid(
        `${where}: 'id' must be 1-${CONFIG_BOUNDS.idMaxLength} characters of letters, digits, '_', '-' and '.' (not first), got ${JSON.stringify(id)}`,
      );
    }
    if (RESERVED_IDS.has(id)) throw invalid(`${where}: 'id' '${id}' is reserved`);
  }

  const name = label(requiredString(body, 'name', where), CONFIG_BOUNDS.nameMaxLength, 'name', where);

  let description: string | null = null;
  if (body.description !== undefined && body.description !== null) {
    description = requiredString(body, 'description', where);
    if (description.length > CONFIG_BOUNDS.descriptionMaxLength) {
      throw invalid(`${where}: 'description' must be at most ${CONFIG_BOUNDS.descriptionMaxLength} characters`);
    }
  }

  const types = body.source_event_types;
  if (types === undefined) throw invalid(`${where}: 'source_event_types' is required (an empty list means every event type)`);
  if (!Array.isArray(types)) throw invalid(`${where}: 'source_event_types' must be an array of event types, got ${describe(types)}`);
  if (types.length > CONFIG_BOUNDS.sourceEventTypesMax) {
    throw invalid(`${where}: 'source_event_types' may list at most ${CONFIG_BOUNDS.sourceEventTypesMax} event types`);
  }
  const sourceEventTypes: string[] = [];
  types.forEach((t, i) => {
    if (typeof t !== 'string' || t.length === 0 || t.length > CONFIG_BOUNDS.eventTypeMaxLength) {
      throw invalid(`${where}: source_event_types[${i}] must be an event type (1-${CONFIG_BOUNDS.eventTypeMaxLength} characters), got ${describe(t)}`);
    }
    if (!sourceEventTypes.includes(t)) sourceEventTypes.push(t);
  });

  const ops = body.operators;
  if (ops === undefined) throw invalid(`${where}: 'operators' is required (it may be empty)`);
  if (!Array.isArray(ops)) throw invalid(`${where}: 'operators' must be an array, got ${describe(ops)}`);
  if (ops.length > limits.maxOperators) {
    throw invalid(`${where}: at most ${limits.maxOperators} operators per pipeline (PIPELINE_MAX_OPERATORS), got ${ops.length}`);
  }
  const operators = ops.map((op, i) => validateOperator(op, `operators[${i}]`));

  let enabled = true;
  if (body.enabled !== undefined) {
    if (typeof body.enabled !== 'boolean') throw invalid(`${where}: 'enabled' must be true or false, got ${describe(body.enabled)}`);
    enabled = body.enabled;
  }

  const config: PipelineConfig = { id, name, description, source_event_types: sourceEventTypes, operators, enabled };
  // Configs are kept (up to PIPELINE_MAX of them) and listed whole: each is bounded as a whole.
  const bytes = Buffer.byteLength(JSON.stringify(config), 'utf8');
  if (bytes > CONFIG_BOUNDS.configMaxBytes) {
    throw invalid(`${where}: the config is ${bytes} bytes as JSON, more than ${CONFIG_BOUNDS.configMaxBytes}`);
  }
  return config;
}

function validateOperator(op: unknown, at: string): OperatorConfig {
  if (!isObject(op)) throw invalid(`${at}: an operator must be an object with a 'type', got ${describe(op)}`);
  const type = op.type;
  if (typeof type !== 'string' || !(OPERATOR_TYPES as readonly string[]).includes(type)) {
    throw invalid(`${at}: unknown operator type ${describe(type)} (one of ${OPERATOR_TYPES.join(', ')})`);
  }
  const where = `${at} (${type})`;
  switch (type) {
    case 'filter':
      return validateFilter(op, where);
    case 'map':
      return validateMap(op, where);
    case 'reduce':
      return validateReduce(op, where);
    case 'window':
      return validateWindow(op, where);
    case 'enrich':
      return validateEnrich(op, where);
    default:
      return validateBranch(op, where);
  }
}

function validateFilter(op: Record<string, unknown>, where: string): FilterConfig {
  onlyKeys(op, ['type', 'field', 'op', 'value'], where);
  const field = path(op, 'field', where);
  const opName = requiredString(op, 'op', where);
  if (!(FILTER_OPS as readonly string[]).includes(opName)) {
    throw invalid(`${where}: 'op' must be one of ${FILTER_OPS.join(', ')}, got ${JSON.stringify(opName)}`);
  }
  if (!('value' in op) || op.value === undefined) throw invalid(`${where}: 'value' is required`);
  const value = op.value as JsonValue;
  if ((opName === 'gt' || opName === 'lt') && typeof value !== 'number' && typeof value !== 'string') {
    throw invalid(`${where}: '${opName}' compares numbers or strings; 'value' is ${describe(value)}`);
  }
  if (opName === 'gt' || opName === 'lt') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw invalid(`${where}: 'value' must be a finite number`);
  }
  return { type: 'filter', field, op: opName as FilterConfig['op'], value };
}

function validateMap(op: Record<string, unknown>, where: string): MapConfig {
  onlyKeys(op, ['type', 'field', 'transform'], where);
  const field = path(op, 'field', where);
  const transform = requiredString(op, 'transform', where);
  const m = MAP_TRANSFORM.exec(transform);
  if (!m) {
    throw invalid(`${where}: 'transform' must be uppercase, lowercase, trim, multiply:<number> or add:<number>, got ${JSON.stringify(transform)}`);
  }
  if (m[3] !== undefined && !Number.isFinite(Number(m[3]))) throw invalid(`${where}: the number in '${transform}' is out of range`);
  return { type: 'map', field, transform };
}

function validateReduce(op: Record<string, unknown>, where: string, nested = false): ReduceConfig {
  onlyKeys(op, ['type', 'field', 'function', 'group_by'], where);
  if (nested && op.type !== undefined && op.type !== 'reduce') {
    throw invalid(`${where}: the aggregation must be a reduce operator, got type ${describe(op.type)}`);
  }
  const fn = requiredString(op, 'function', where);
  if (!(REDUCE_FUNCTIONS as readonly string[]).includes(fn)) {
    throw invalid(`${where}: 'function' must be one of ${REDUCE_FUNCTIONS.join(', ')}, got ${JSON.stringify(fn)}`);
  }
  const field = fn === 'count' ? optionalPath(op, 'field', where) : path(op, 'field', where);
  return { type: 'reduce', field, function: fn as ReduceConfig['function'], group_by: optionalPath(op, 'group_by', where) };
}

function validateWindow(op: Record<string, unknown>, where: string): WindowConfig {
  onlyKeys(op, ['type', 'config', 'aggregation'], where);
  const cfg = op.config;
  if (!isObject(cfg)) throw invalid(`${where}: 'config' must be an object with window_type and size_seconds, got ${describe(cfg)}`);
  const at = `${where}: config`;
  onlyKeys(cfg, ['window_type', 'size_seconds', 'slide_seconds', 'session_timeout_seconds'], at);
  const windowType = requiredString(cfg, 'window_type', at);
  if (!(WINDOW_TYPES as readonly string[]).includes(windowType)) {
    throw invalid(`${at}: 'window_type' must be one of ${WINDOW_TYPES.join(', ')}, got ${JSON.stringify(windowType)}`);
  }
  const size = seconds(cfg, 'size_seconds', at);
  const slide = seconds(cfg, 'slide_seconds', at);
  const timeout = seconds(cfg, 'session_timeout_seconds', at);
  if (windowType !== 'session' && size === null) throw invalid(`${at}: 'size_seconds' is required for ${windowType} windows`);
  if (windowType === 'sliding') {
    if (slide === null) throw invalid(`${at}: 'slide_seconds' is required for sliding windows`);
    if (slide > size!) throw invalid(`${at}: 'slide_seconds' (${slide}) must not exceed 'size_seconds' (${size})`);
    if (size! / slide > CONFIG_BOUNDS.slidingWindowsPerEventMax) {
      throw invalid(`${at}: size_seconds / slide_seconds must be at most ${CONFIG_BOUNDS.slidingWindowsPerEventMax} (windows each event updates)`);
    }
  } else if (slide !== null) {
    throw invalid(`${at}: 'slide_seconds' only applies to sliding windows`);
  }
  if (windowType === 'session') {
    if (timeout === null) throw invalid(`${at}: 'session_timeout_seconds' is required for session windows`);
    if (size !== null && size < timeout) {
      throw invalid(`${at}: for session windows 'size_seconds' is the longest session and must be at least session_timeout_seconds`);
    }
  } else if (timeout !== null) {
    throw invalid(`${at}: 'session_timeout_seconds' only applies to session windows`);
  }
  const aggregation = op.aggregation;
  if (!isObject(aggregation)) throw invalid(`${where}: 'aggregation' must be a reduce operator object, got ${describe(aggregation)}`);
  const spec: WindowSpec = { window_type: windowType as WindowSpec['window_type'], size_seconds: size, slide_seconds: slide, session_timeout_seconds: timeout };
  return { type: 'window', config: spec, aggregation: validateReduce(aggregation, `${where}: aggregation`, true) };
}

function validateEnrich(op: Record<string, unknown>, where: string): EnrichConfig {
  onlyKeys(op, ['type', 'source', 'fields'], where);
  const source = requiredString(op, 'source', where);
  if (source.startsWith('entity:')) {
    const problem = pathProblem(source.slice('entity:'.length));
    if (problem) throw invalid(`${where}: the path in 'source' ${problem}`);
  } else if (source !== 'metadata' && source !== 'event' && source !== 'entity') {
    throw invalid(`${where}: 'source' must be metadata, event, entity or entity:<path to an entity id>, got ${JSON.stringify(source)}`);
  }
  const fields = op.fields;
  if (!Array.isArray(fields) || fields.length === 0) throw invalid(`${where}: 'fields' must be a non-empty array of field paths`);
  if (fields.length > CONFIG_BOUNDS.enrichFieldsMax) throw invalid(`${where}: at most ${CONFIG_BOUNDS.enrichFieldsMax} fields`);
  const out: string[] = [];
  fields.forEach((f, i) => {
    if (typeof f !== 'string') throw invalid(`${where}: fields[${i}] must be a string, got ${describe(f)}`);
    const problem = pathProblem(f);
    if (problem) throw invalid(`${where}: fields[${i}] ${problem}`);
    if (source === 'event' && !(EVENT_ENVELOPE_FIELDS as readonly string[]).includes(f)) {
      throw invalid(`${where}: fields[${i}] must be one of ${EVENT_ENVELOPE_FIELDS.join(', ')} for source 'event', got ${JSON.stringify(f)}`);
    }
    if (!out.includes(f)) out.push(f);
  });
  return { type: 'enrich', source, fields: out };
}

function validateBranch(op: Record<string, unknown>, where: string): BranchConfig {
  onlyKeys(op, ['type', 'field', 'branches', 'default_route'], where);
  const field = path(op, 'field', where);
  const branches = op.branches;
  if (!isObject(branches)) throw invalid(`${where}: 'branches' must be an object of value → route, got ${describe(branches)}`);
  const entries = Object.entries(branches);
  if (entries.length === 0) throw invalid(`${where}: 'branches' must name at least one value`);
  if (entries.length > CONFIG_BOUNDS.branchesMax) throw invalid(`${where}: at most ${CONFIG_BOUNDS.branchesMax} branches`);
  // A prototype-less map: a branch value such as "__proto__" or "toString" is plain data.
  const routes: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [value, route] of entries) {
    if (typeof route !== 'string') throw invalid(`${where}: the route of branch ${JSON.stringify(value)} must be a string, got ${describe(route)}`);
    routes[value] = label(route, CONFIG_BOUNDS.routeMaxLength, `branches.${value}`, where);
  }
  let defaultRoute = 'default';
  if (op.default_route !== undefined) {
    defaultRoute = label(requiredString(op, 'default_route', where), CONFIG_BOUNDS.routeMaxLength, 'default_route', where);
  }
  return { type: 'branch', field, branches: routes, default_route: defaultRoute };
}
