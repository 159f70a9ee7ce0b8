import { jsonEqual as deepEqual } from './jsonEqual';
import { CHECKED_FORMATS, matchesFormat, type Draft } from './jsonSchema';
import { matchesPattern } from './linearPattern';

/**
 * Structural compatibility between two JSON Schemas.
 *
 *   BACKWARD  every payload valid under the previous version is valid under the new one
 *             (consumers on the new schema can read events written under the old one)
 *   FORWARD   every payload valid under the new version is valid under the previous one
 *             (consumers still on the old schema can read events written under the new one)
 *   FULL      both;  NONE  nothing is checked
 *
 * Both directions are one question: does the "narrow" schema accept only values that the
 * "wide" schema accepts too (narrow ⊆ wide)? The check walks both schemas side by side. It is
 * sound for the keywords it understands: a keyword of the wide schema it cannot verify is
 * reported as a problem, never silently passed; a keyword of the narrow schema it does not
 * understand may be ignored, because a constraint on the narrow side only makes it narrower.
 *
 * Checked: `type` (integer ⊂ number), `enum`/`const`, numeric bounds
 * (`minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`), string
 * `minLength`/`maxLength`/`pattern`/`format`, objects (`properties`, `required`,
 * `additionalProperties`, `patternProperties`, `minProperties`/`maxProperties`) recursively,
 * arrays (`items`, `prefixItems`, draft-07 tuple `items`/`additionalItems`, `minItems`/`maxItems`,
 * `uniqueItems`) recursively, boolean schemas, local `$ref`s (`#/$defs/…`, `#/definitions/…`,
 * recursion included), and `allOf`/`anyOf`/`oneOf` (a union is covered when each of its
 * branches is).
 *
 * Deliberate approximations, documented:
 * - A property added to an object that allows undeclared properties (no
 *   `additionalProperties: false`) is accepted: the check assumes that events did not carry an
 *   undeclared property of that name with a conflicting value. Adding an optional property is the
 *   everyday way to evolve an event, and refusing it would make BACKWARD useless in practice.
 * - `oneOf` on the wide side is treated like `anyOf` (exclusivity is not checked).
 * - Two `pattern`s (or formats) are compatible only when equal; regex inclusion is not decided.
 * - `not`, `if`/`then`/`else`, `contains`, `propertyNames`, `dependentRequired`,
 *   `dependentSchemas`, `dependencies`, `unevaluatedProperties`/`unevaluatedItems`, `$dynamicRef`
 *   and remote `$ref`s are compared by equality: added or changed on the wide side, they are
 *   reported as "cannot verify" (register with compatibility NONE to force such a change).
 */

export type CompatibilityMode = 'NONE' | 'BACKWARD' | 'FORWARD' | 'FULL';
export const COMPATIBILITY_MODES: readonly CompatibilityMode[] = ['NONE', 'BACKWARD', 'FORWARD', 'FULL'];

export interface SchemaSide {
  schema: unknown;
  draft: Draft;
}

/** At most this many problems are reported per check. */
const MAX_PROBLEMS = 50;
/** Schemas nested deeper than this (through `$ref`s) are not followed further. */
const MAX_DEPTH = 100;
/** Node comparisons one check may make before it gives up (reported as a problem). */
const MAX_STEPS = 200_000;

/**
 * Why `next` may not follow `previous` under `mode`; empty when it may. Each problem starts with
 * the direction it breaks (`BACKWARD:` or `FORWARD:`) and a payload path (`$.address.zip`).
 */
export function compatibilityProblems(previous: SchemaSide, next: SchemaSide, mode: CompatibilityMode): string[] {
  const problems: string[] = [];
  if (mode === 'BACKWARD' || mode === 'FULL') {
    for (const p of subsetProblems(previous, next, 'previous', 'new')) problems.push(`BACKWARD: ${p}`);
  }
  if (mode === 'FORWARD' || mode === 'FULL') {
    for (const p of subsetProblems(next, previous, 'new', 'previous')) problems.push(`FORWARD: ${p}`);
  }
  return problems.slice(0, MAX_PROBLEMS);
}

/** Why `narrow` may accept a value that `wide` rejects; empty when narrow ⊆ wide (as far as checked). */
export function subsetProblems(narrow: SchemaSide, wide: SchemaSide, narrowLabel: string, wideLabel: string): string[] {
  const c: Ctx = {
    n: { root: narrow.schema, draft: narrow.draft, label: narrowLabel },
    w: { root: wide.schema, draft: wide.draft, label: wideLabel },
    problems: [],
    assumed: new Set(),
    depth: 0,
    budget: { steps: MAX_STEPS },
  };
  check(narrow.schema, wide.schema, '$', c);
  return c.problems;
}

// --- internals ------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

interface Root {
  root: unknown;
  draft: Draft;
  label: string;
}

interface Ctx {
  n: Root;
  w: Root;
  problems: string[];
  /** Pairs (narrow node, wide node) assumed compatible while being checked (recursive $refs). */
  assumed: Set<string>;
  depth: number;
  /** Shared by a check and all its attempts. */
  budget: { steps: number };
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keywords that only annotate (never reject a value). */
const ANNOTATIONS = new Set([
  '$schema', '$id', '$anchor', '$dynamicAnchor', '$recursiveAnchor', '$comment', '$defs', 'definitions',
  '$vocabulary', 'title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly',
  'contentMediaType', 'contentEncoding', 'contentSchema',
]);

/** Wide-side keywords compared by equality only. */
const OPAQUE = [
  'not', 'contains', 'minContains', 'maxContains', 'propertyNames', 'dependentRequired', 'dependentSchemas',
  'dependencies', 'unevaluatedProperties', 'unevaluatedItems', '$dynamicRef', '$recursiveRef',
] as const;

const COMPOSITIONS = ['allOf', 'anyOf', 'oneOf'] as const;

/** True when the schema rejects nothing (`true`, `{}`, or only annotations). */
function acceptsAll(s: unknown): boolean {
  if (s === true) return true;
  if (!isObj(s)) return false;
  for (const key of Object.keys(s)) if (!ANNOTATIONS.has(key)) return false;
  return true;
}

function hasRef(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasRef);
  if (!isObj(v)) return false;
  for (const [k, x] of Object.entries(v)) {
    if ((k === '$ref' || k === '$dynamicRef' || k === '$recursiveRef') && typeof x === 'string') return true;
    if (hasRef(x)) return true;
  }
  return false;
}

/** Equal and free of references (whose meaning depends on each side's root). */
function sameMeaning(a: unknown, b: unknown): boolean {
  return deepEqual(a, b) && !hasRef(a);
}

function without(s: Obj, ...keys: string[]): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(s)) if (!keys.includes(k)) out[k] = v;
  return out;
}

const nodeIds = new WeakMap<object, number>();
let nextNodeId = 0;
function nodeId(v: unknown): string {
  if (typeof v !== 'object' || v === null) return String(v);
  let id = nodeIds.get(v);
  if (id === undefined) nodeIds.set(v, (id = ++nextNodeId));
  return `#${id}`;
}

/** A local reference (`#`, `#/$defs/x`, `#/definitions/x`, any JSON pointer) in `root`. */
function resolveRef(root: unknown, ref: string): unknown {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObj(node)) node = node[key];
    else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

function prop(path: string, name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;
}

function report(c: Ctx, path: string, message: string): void {
  if (c.problems.length < MAX_PROBLEMS) c.problems.push(`${path}: ${message}`);
}

/** Run a check into a scratch list; the problems it found. */
function attempt(c: Ctx, f: (scratch: Ctx) => void): string[] {
  // Assumptions made inside a failed attempt must not leak out of it: the attempt gets a copy.
  const scratch: Ctx = { ...c, problems: [], assumed: new Set(c.assumed) };
  f(scratch);
  return scratch.problems;
}

function check(n: unknown, w: unknown, path: string, c: Ctx): void {
  if (c.problems.length >= MAX_PROBLEMS) return;
  if (acceptsAll(w) || n === false) return;
  if (w === false) {
    report(c, path, `the ${c.w.label} schema accepts no value here, the ${c.n.label} schema does`);
    return;
  }
  if (!isObj(w)) return; // not a schema; compilation already refused it
  const ns: Obj = isObj(n) ? n : {};
  if (sameMeaning(ns, w)) return;
  if (c.depth >= MAX_DEPTH || --c.budget.steps < 0) {
    report(c, path, 'the schemas are too large or nest too deeply to compare; register with compatibility NONE');
    return;
  }
  c.depth++;
  try {
    compare(ns, w, path, c);
  } finally {
    c.depth--;
  }
}

function compare(n: Obj, w: Obj, path: string, c: Ctx): void {
  // 1. References on the wide side: the target (and, in 2020-12, the sibling keywords) must hold.
  if (typeof w.$ref === 'string') {
    const target = resolveRef(c.w.root, w.$ref);
    if (target === undefined) {
      if (!(typeof n.$ref === 'string' && n.$ref === w.$ref && !w.$ref.startsWith('#'))) {
        report(c, path, `cannot verify the ${c.w.label} schema's reference '${w.$ref}' (only local references are followed)`);
      }
      return;
    }
    const key = `${nodeId(n)}<${nodeId(target)}`;
    if (!c.assumed.has(key)) {
      c.assumed.add(key);
      check(n, target, path, c);
    }
    if (c.w.draft === '2020-12') check(n, without(w, '$ref'), path, c);
    return;
  }
  // 2. Compositions on the wide side.
  for (const kw of COMPOSITIONS) {
    const branches = w[kw];
    if (!Array.isArray(branches)) continue;
    const rest = without(w, kw);
    if (kw === 'allOf') {
      for (const b of branches) check(n, b, path, c);
    } else {
      const tries = branches.map((b) => attempt(c, (s) => check(n, b, path, s)));
      if (!tries.some((t) => t.length === 0)) {
        const closest = tries.reduce((a, b) => (b.length < a.length ? b : a), tries[0] ?? []);
        report(
          c,
          path,
          `the ${c.n.label} schema is not covered by any branch of the ${c.w.label} schema's ${kw}` +
            (closest.length > 0 ? ` (closest branch: ${closest[0]})` : ''),
        );
      }
    }
    check(n, rest, path, c);
    return;
  }
  // 3. References on the narrow side: the narrow value satisfies the target (and its siblings).
  if (typeof n.$ref === 'string') {
    const target = resolveRef(c.n.root, n.$ref);
    const siblings = c.n.draft === '2020-12' ? without(n, '$ref') : {};
    if (target === undefined) {
      // The narrow side is only narrowed by a reference: its siblings alone may suffice.
      const problems = attempt(c, (s) => check(siblings, w, path, s));
      if (problems.length > 0) {
        report(c, path, `cannot verify the ${c.n.label} schema's reference '${n.$ref}' (only local references are followed)`);
      }
      return;
    }
    const key = `${nodeId(target)}<${nodeId(w)}`;
    if (c.assumed.has(key)) return;
    c.assumed.add(key);
    const viaTarget = attempt(c, (s) => check(target, w, path, s));
    if (viaTarget.length === 0) return;
    if (!acceptsAll(siblings) && attempt(c, (s) => check(siblings, w, path, s)).length === 0) return;
    for (const p of viaTarget) if (c.problems.length < MAX_PROBLEMS) c.problems.push(p);
    return;
  }
  // 4. Compositions on the narrow side: n = rest ∧ composition.
  for (const kw of COMPOSITIONS) {
    const branches = n[kw];
    if (!Array.isArray(branches)) continue;
    const rest = without(n, kw);
    const viaRest = attempt(c, (s) => check(rest, w, path, s));
    if (viaRest.length === 0) return;
    // A branch together with the rest (merged when they constrain different keywords).
    const covered = (b: unknown): boolean =>
      attempt(c, (s) => check(b, w, path, s)).length === 0 ||
      (isObj(b) && Object.keys(b).every((k) => !(k in rest)) &&
        attempt(c, (s) => check({ ...rest, ...b }, w, path, s)).length === 0);
    if (kw === 'allOf') {
      if (!branches.some(covered)) for (const p of viaRest) if (c.problems.length < MAX_PROBLEMS) c.problems.push(p);
      return;
    }
    const failing = branches.findIndex((b) => !covered(b));
    if (failing >= 0) {
      const why = attempt(c, (s) => check(branches[failing], w, path, s))[0];
      report(c, path, `branch ${failing + 1} of the ${c.n.label} schema's ${kw} is not covered by the ${c.w.label} schema${why ? ` (${why})` : ''}`);
    }
    return;
  }
  // 5. Plain schemas.
  comparePlain(n, w, path, c);
}

type Kind = 'null' | 'boolean' | 'object' | 'array' | 'number' | 'integer' | 'string';

function typesOf(s: Obj): Set<string> | undefined {
  if (typeof s.type === 'string') return new Set([s.type]);
  if (Array.isArray(s.type)) return new Set(s.type.filter((t): t is string => typeof t === 'string'));
  return undefined;
}

function kindOf(v: unknown): Kind {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as Kind;
}

/** The values a schema is restricted to by `const`/`enum`, if it is. */
function valuesOf(s: Obj): unknown[] | undefined {
  if ('const' in s) return [s.const];
  if (Array.isArray(s.enum)) return s.enum;
  return undefined;
}

/** The types the narrow schema can produce; undefined = any. */
function possibleTypes(s: Obj): Set<string> | undefined {
  const values = valuesOf(s);
  const declared = typesOf(s);
  if (values) {
    const kinds = new Set(values.map(kindOf));
    if (!declared) return kinds;
    return new Set([...kinds].filter((k) => declared.has(k) || (k === 'integer' && declared.has('number'))));
  }
  return declared;
}

function typeAllowed(t: string, allowed: Set<string>): boolean {
  return allowed.has(t) || (t === 'integer' && allowed.has('number'));
}

const list = (values: Iterable<unknown>): string => [...values].map((v) => JSON.stringify(v)).join(', ');

function comparePlain(n: Obj, w: Obj, path: string, c: Ctx): void {
  const N = c.n.label;
  const W = c.w.label;
  // Keywords compared by equality only.
  for (const kw of OPAQUE) {
    if (kw in w && !sameMeaning(n[kw], w[kw])) {
      report(c, path, `cannot verify '${kw}' of the ${W} schema (added or changed); register with compatibility NONE to force it`);
    }
  }
  if (('if' in w || 'then' in w || 'else' in w) && !(sameMeaning(n.if, w.if) && sameMeaning(n.then, w.then) && sameMeaning(n.else, w.else))) {
    report(c, path, `cannot verify 'if'/'then'/'else' of the ${W} schema (added or changed); register with compatibility NONE to force it`);
  }

  // type
  const wTypes = typesOf(w);
  let nTypes = possibleTypes(n);
  if (wTypes) {
    if (!nTypes) {
      report(c, path, `the ${W} schema allows only type ${[...wTypes].join('|')}, the ${N} schema any type`);
    } else {
      const extra = [...nTypes].filter((t) => !typeAllowed(t, wTypes));
      if (extra.length > 0) {
        report(c, path, `the ${N} schema allows type ${extra.join('|')}, the ${W} schema only ${[...wTypes].join('|')}`);
      }
    }
    // Only the shared types matter below.
    nTypes = new Set([...(nTypes ?? ['null', 'boolean', 'object', 'array', 'number', 'string'])].filter((t) => typeAllowed(t, wTypes)));
  }
  const can = (kind: 'object' | 'array' | 'number' | 'string'): boolean =>
    !nTypes || nTypes.has(kind) || (kind === 'number' && nTypes.has('integer'));

  // enum / const
  const nValues = valuesOf(n);
  const wValues = valuesOf(w);
  if (wValues) {
    if (!nValues) {
      report(c, path, `the ${W} schema allows only the values ${list(wValues)}, the ${N} schema any value`);
    } else {
      const missing = nValues.filter((v) => !wValues.some((x) => deepEqual(x, v)));
      if (missing.length > 0) report(c, path, `value(s) ${list(missing)} allowed by the ${N} schema are not allowed by the ${W} schema`);
    }
  }
  if (nValues) {
    // A finite set of values: check each against the wide side's scalar constraints.
    for (const v of nValues) {
      if (typeof v === 'number') numericValue(v, w, path, c);
      else if (typeof v === 'string') stringValue(v, w, path, c);
      else if (typeof v === 'object' && v !== null && hasStructuralKeywords(w)) {
        report(c, path, `cannot verify the ${N} schema's value ${JSON.stringify(v)} against the ${W} schema`);
      }
    }
    return;
  }
  if (can('number')) numeric(n, w, path, c);
  if (can('string')) strings(n, w, path, c);
  if (can('array')) arrays(n, w, path, c);
  if (can('object')) objects(n, w, path, c);
}

const STRUCTURAL = [
  'properties', 'required', 'additionalProperties', 'patternProperties', 'minProperties', 'maxProperties',
  'items', 'prefixItems', 'additionalItems', 'minItems', 'maxItems', 'uniqueItems',
];
const hasStructuralKeywords = (w: Obj): boolean => STRUCTURAL.some((k) => k in w);

// --- numbers --------------------------------------------------------------------------------

interface Bound {
  value: number;
  exclusive: boolean;
}

function lowerOf(s: Obj): Bound | undefined {
  const inc = typeof s.minimum === 'number' ? s.minimum : undefined;
  const exc = typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum : undefined;
  if (inc === undefined && exc === undefined) return undefined;
  if (exc !== undefined && (inc === undefined || exc >= inc)) return { value: exc, exclusive: true };
  return { value: inc!, exclusive: false };
}

function upperOf(s: Obj): Bound | undefined {
  const inc = typeof s.maximum === 'number' ? s.maximum : undefined;
  const exc = typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum : undefined;
  if (inc === undefined && exc === undefined) return undefined;
  if (exc !== undefined && (inc === undefined || exc <= inc)) return { value: exc, exclusive: true };
  return { value: inc!, exclusive: false };
}

const showLower = (b: Bound): string => `${b.exclusive ? '>' : '>='} ${b.value}`;
const showUpper = (b: Bound): string => `${b.exclusive ? '<' : '<='} ${b.value}`;

function isMultiple(value: number, of: number): boolean {
  const q = value / of;
  return Math.abs(q - Math.round(q)) < 1e-9;
}

function numeric(n: Obj, w: Obj, path: string, c: Ctx): void {
  const wl = lowerOf(w);
  if (wl) {
    const nl = lowerOf(n);
    if (!nl || nl.value < wl.value || (nl.value === wl.value && wl.exclusive && !nl.exclusive)) {
      report(c, path, `the ${c.w.label} schema requires ${showLower(wl)}, the ${c.n.label} schema ${nl ? `only ${showLower(nl)}` : 'has no lower bound'}`);
    }
  }
  const wu = upperOf(w);
  if (wu) {
    const nu = upperOf(n);
    if (!nu || nu.value > wu.value || (nu.value === wu.value && wu.exclusive && !nu.exclusive)) {
      report(c, path, `the ${c.w.label} schema requires ${showUpper(wu)}, the ${c.n.label} schema ${nu ? `only ${showUpper(nu)}` : 'has no upper bound'}`);
    }
  }
  if (typeof w.multipleOf === 'number') {
    const nm = typeof n.multipleOf === 'number' ? n.multipleOf : undefined;
    if (nm === undefined || !isMultiple(nm, w.multipleOf)) {
      report(c, path, `the ${c.w.label} schema requires a multiple of ${w.multipleOf}, the ${c.n.label} schema ${nm === undefined ? 'does not' : `only of ${nm}`}`);
    }
  }
}

function numericValue(v: number, w: Obj, path: string, c: Ctx): void {
  const lo = lowerOf(w);
  const hi = upperOf(w);
  const bad =
    (lo && (v < lo.value || (lo.exclusive && v === lo.value))) ||
    (hi && (v > hi.value || (hi.exclusive && v === hi.value))) ||
    (typeof w.multipleOf === 'number' && !isMultiple(v, w.multipleOf));
  if (bad) report(c, path, `the value ${v} allowed by the ${c.n.label} schema is out of the ${c.w.label} schema's range`);
}

// --- strings --------------------------------------------------------------------------------

function lengthRange(n: Obj, w: Obj, path: string, c: Ctx, minKw: string, maxKw: string, what: string): void {
  const wMin = typeof w[minKw] === 'number' ? (w[minKw] as number) : 0;
  const nMin = typeof n[minKw] === 'number' ? (n[minKw] as number) : 0;
  if (wMin > nMin) report(c, path, `the ${c.w.label} schema requires at least ${wMin} ${what}, the ${c.n.label} schema ${nMin}`);
  if (typeof w[maxKw] === 'number') {
    const wMax = w[maxKw] as number;
    const nMax = typeof n[maxKw] === 'number' ? (n[maxKw] as number) : undefined;
    if (nMax === undefined || nMax > wMax) {
      report(c, path, `the ${c.w.label} schema allows at most ${wMax} ${what}, the ${c.n.label} schema ${nMax === undefined ? 'any number' : nMax}`);
    }
  }
}

function strings(n: Obj, w: Obj, path: string, c: Ctx): void {
  lengthRange(n, w, path, c, 'minLength', 'maxLength', 'characters');
  if (typeof w.pattern === 'string' && n.pattern !== w.pattern) {
    report(c, path, `the ${c.w.label} schema requires the pattern ${JSON.stringify(w.pattern)}, the ${c.n.label} schema ${typeof n.pattern === 'string' ? `has ${JSON.stringify(n.pattern)}` : 'has none'}`);
  }
  if (typeof w.format === 'string' && CHECKED_FORMATS.has(w.format) && n.format !== w.format) {
    report(c, path, `the ${c.w.label} schema requires format '${w.format}', the ${c.n.label} schema ${typeof n.format === 'string' ? `'${n.format}'` : 'none'}`);
  }
}

function stringValue(v: string, w: Obj, path: string, c: Ctx): void {
  const length = [...v].length;
  let bad = (typeof w.minLength === 'number' && length < w.minLength) || (typeof w.maxLength === 'number' && length > w.maxLength);
  if (typeof w.pattern === 'string') {
    // A pattern that does not compile rejects every value.
    bad ||= !matchesPattern(w.pattern, v);
  }
  if (typeof w.format === 'string' && CHECKED_FORMATS.has(w.format)) bad ||= !matchesFormat(w.format, v);
  if (bad) report(c, path, `the value ${JSON.stringify(v)} allowed by the ${c.n.label} schema is rejected by the ${c.w.label} schema`);
}

// --- arrays ---------------------------------------------------------------------------------

interface Items {
  prefix: unknown[];
  rest: unknown;
}

function itemsOf(s: Obj, draft: Draft): Items {
  if (draft === 'draft-07') {
    if (Array.isArray(s.items)) return { prefix: s.items, rest: s.additionalItems ?? true };
    return { prefix: [], rest: s.items ?? true };
  }
  return { prefix: Array.isArray(s.prefixItems) ? s.prefixItems : [], rest: s.items ?? true };
}

function arrays(n: Obj, w: Obj, path: string, c: Ctx): void {
  lengthRange(n, w, path, c, 'minItems', 'maxItems', 'items');
  if (w.uniqueItems === true && n.uniqueItems !== true) {
    report(c, path, `the ${c.w.label} schema requires unique items, the ${c.n.label} schema does not`);
  }
  const ni = itemsOf(n, c.n.draft);
  const wi = itemsOf(w, c.w.draft);
  const nMax = typeof n.maxItems === 'number' ? n.maxItems : Infinity;
  const positions = Math.min(Math.max(ni.prefix.length, wi.prefix.length), nMax);
  for (let i = 0; i < positions; i++) {
    check(ni.prefix[i] ?? ni.rest, wi.prefix[i] ?? wi.rest, `${path}[${i}]`, c);
  }
  if (nMax > positions) check(ni.rest, wi.rest, `${path}[]`, c);
}

// --- objects --------------------------------------------------------------------------------

function patternsMatching(patterns: Obj, name: string): unknown[] {
  const out: unknown[] = [];
  for (const [p, s] of Object.entries(patterns)) {
    // An invalid pattern never compiled; nothing matches it.
    if (matchesPattern(p, name)) out.push(s);
  }
  return out;
}

function objects(n: Obj, w: Obj, path: string, c: Ctx): void {
  const N = c.n.label;
  const W = c.w.label;
  lengthRange(n, w, path, c, 'minProperties', 'maxProperties', 'properties');

  const nRequired = new Set(Array.isArray(n.required) ? n.required : []);
  for (const r of Array.isArray(w.required) ? w.required : []) {
    if (typeof r === 'string' && !nRequired.has(r)) {
      report(c, prop(path, r), `required by the ${W} schema but not by the ${N} schema`);
    }
  }

  const nProps = isObj(n.properties) ? n.properties : {};
  const wProps = isObj(w.properties) ? w.properties : {};
  const nPatterns = isObj(n.patternProperties) ? n.patternProperties : {};
  const wPatterns = isObj(w.patternProperties) ? w.patternProperties : {};
  const nAdditional = n.additionalProperties ?? true;
  const wAdditional = w.additionalProperties ?? true;
  const nOpen = acceptsAll(nAdditional);

  /** What the narrow side allows for a property of this name. */
  const narrowFor = (name: string): unknown => nProps[name] ?? patternsMatching(nPatterns, name)[0] ?? nAdditional;
  /** Everything the wide side requires of a property of this name. */
  const wideFor = (name: string): unknown[] => {
    const matching = patternsMatching(wPatterns, name);
    if (name in wProps) return [wProps[name], ...matching];
    return matching.length > 0 ? matching : [wAdditional];
  };

  for (const name of new Set([...Object.keys(nProps), ...Object.keys(wProps)])) {
    const declaredByNarrow = name in nProps || patternsMatching(nPatterns, name).length > 0;
    // A property new on the wide side of an open narrow object: accepted (see the file comment).
    if (!declaredByNarrow && nOpen) continue;
    const narrow = narrowFor(name);
    for (const wide of wideFor(name)) {
      if (wide === false && narrow !== false) {
        report(c, prop(path, name), `allowed by the ${N} schema but not by the ${W} schema (additionalProperties: false)`);
      } else {
        check(narrow, wide, prop(path, name), c);
      }
    }
  }

  for (const [pattern, schema] of Object.entries(wPatterns)) {
    if (pattern in nPatterns) check(nPatterns[pattern], schema, `${path}[/${pattern}/]`, c);
    else if (!nOpen) check(nAdditional, schema, `${path}[/${pattern}/]`, c);
    // (an open narrow object: same leniency as for an added property)
  }
  for (const [pattern, schema] of Object.entries(nPatterns)) {
    if (!(pattern in wPatterns) && !acceptsAll(wAdditional)) {
      if (wAdditional === false) report(c, `${path}[/${pattern}/]`, `properties matching /${pattern}/ are allowed by the ${N} schema but not by the ${W} schema`);
      else check(schema, wAdditional, `${path}[/${pattern}/]`, c);
    }
  }

  if (!acceptsAll(wAdditional) && !sameMeaning(nAdditional, wAdditional)) {
    if (wAdditional === false && nAdditional !== false) {
      report(c, path, `the ${W} schema allows no undeclared properties (additionalProperties: false), the ${N} schema does`);
    } else {
      check(nAdditional, wAdditional, `${path}.*`, c);
    }
  }
}
