import * as net from 'node:net';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import { linearRegExpEngine, UnsupportedPatternError } from './linearPattern';

/**
 * JSON Schema compilation with ajv: draft 2020-12 (the default) and draft-07, picked by the
 * schema's `$schema`. Every schema is compiled on its own — nothing it declares (`$id`, anchors)
 * stays registered in the shared ajv instances afterwards, so two subjects (or two versions of
 * one subject) that reuse an `$id` never see each other, and the instances do not grow.
 */

export type Draft = '2020-12' | 'draft-07';

const DRAFT_2020_URI = 'https://json-schema.org/draft/2020-12/schema';
const DRAFT_07_URI = 'http://json-schema.org/draft-07/schema#';

/** A schema compiled for validation. */
export interface CompiledSchema {
  draft: Draft;
  validate: ValidateFunction;
}

/** Why a schema could not be compiled (the caller answers 400). */
export class SchemaCompileError extends Error {}

/** One validation error, as the API reports it (ajv's error, snake_case). */
export interface SchemaViolation {
  instance_path: string;
  schema_path: string;
  keyword: string;
  message: string;
  params: Record<string, unknown>;
}

/** The draft a schema is written in, from its `$schema` (absent → 2020-12). */
export function draftOf(schema: unknown): Draft {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return '2020-12';
  const uri = (schema as { $schema?: unknown }).$schema;
  if (uri === undefined) return '2020-12';
  if (typeof uri !== 'string') throw new SchemaCompileError('$schema must be a string');
  const normalized = uri.trim().replace(/#$/, '').replace(/^https?:\/\//, '');
  if (normalized === 'json-schema.org/draft/2020-12/schema') return '2020-12';
  if (normalized === 'json-schema.org/draft-07/schema') return 'draft-07';
  throw new SchemaCompileError(
    `unsupported $schema '${uri}': use ${DRAFT_2020_URI} (draft 2020-12, the default) or ${DRAFT_07_URI} (draft-07)`,
  );
}

// --- formats --------------------------------------------------------------------------------
// ajv ships no format implementations of its own; these are the common ones. Any other format
// name is an annotation only (accepted, not checked), as draft 2020-12 allows.

const DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:z|([+-])(\d{2}):(\d{2}))$/i;

function isLeapYear(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

function isDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= (month === 2 && !isLeapYear(year) ? 28 : DAYS[month]!);
}

function isTime(s: string): boolean {
  const m = TIME.exec(s);
  if (!m) return false;
  const [hour, minute, second] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (m[5] !== undefined && (Number(m[5]) > 23 || Number(m[6]) > 59)) return false;
  return hour <= 23 && minute <= 59 && second <= 60;
}

function isDateTime(s: string): boolean {
  const sep = s.search(/[t ]/i);
  return sep === 10 && isDate(s.slice(0, sep)) && isTime(s.slice(sep + 1));
}

const FORMATS: Record<string, RegExp | ((s: string) => boolean)> = {
  'date-time': isDateTime,
  date: isDate,
  time: isTime,
  email:
    /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i,
  hostname: /^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-0-9a-z]{0,61}[0-9a-z])?)*\.?$/i,
  ipv4: (s) => net.isIPv4(s),
  ipv6: (s) => net.isIPv6(s),
  uuid: /^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i,
  uri: (s) => {
    if (!/^[a-z][a-z0-9+.-]*:/i.test(s)) return false;
    try {
      new URL(s);
      return true;
    } catch {
      return false;
    }
  },
  regex: (s) => {
    try {
      new RegExp(s, 'u');
      return true;
    } catch {
      return false;
    }
  },
};

/** Formats this registry checks (others are annotations). */
export const CHECKED_FORMATS: ReadonlySet<string> = new Set(Object.keys(FORMATS));

/** Whether `value` is of a checked format (true for formats that are not checked). */
export function matchesFormat(format: string, value: string): boolean {
  const f = FORMATS[format];
  if (f === undefined) return true;
  return typeof f === 'function' ? f(value) : f.test(value);
}

function withFormats<T extends Ajv>(ajv: T): T {
  for (const [name, format] of Object.entries(FORMATS)) ajv.addFormat(name, format);
  return ajv;
}

// `strict: false`: real-world schemas carry unknown keywords, union types and unknown formats;
// they are accepted (unknown keywords and formats are ignored) rather than refused.
// Patterns run on RE2, in linear time (see linearPattern.ts).
const OPTIONS = { allErrors: true, strict: false, logger: false as const, code: { regExp: linearRegExpEngine } };

/** Compiles schemas of both drafts. One per registry; compilation is synchronous. */
export class SchemaCompiler {
  private readonly ajv2020 = withFormats(new Ajv2020(OPTIONS));
  private readonly ajv07 = withFormats(new Ajv(OPTIONS));

  /** Compile `schema` (an object or a boolean); throws SchemaCompileError when it is not a valid JSON Schema. */
  compile(schema: unknown): CompiledSchema {
    if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
      throw new SchemaCompileError('a JSON Schema must be an object or a boolean');
    }
    const draft = draftOf(schema);
    const ajv = draft === '2020-12' ? this.ajv2020 : this.ajv07;
    // ajv knows each meta-schema under one URI: accept the http/https and '#' spellings.
    let input = schema;
    if (typeof schema === 'object' && '$schema' in schema) {
      input = { ...schema, $schema: draft === '2020-12' ? DRAFT_2020_URI : DRAFT_07_URI };
    }
    let validate: ValidateFunction;
    try {
      validate = ajv.compile(input);
    } catch (err) {
      // The pattern's own message quotes the pattern: nothing in it is ajv's `data`.
      if (err instanceof UnsupportedPatternError) throw new SchemaCompileError(err.message);
      throw new SchemaCompileError(cleanMessage((err as Error).message));
    } finally {
      // Drop everything the schema registered ($id, nested $ids, the compile cache); the
      // compiled function keeps what it needs.
      ajv.removeSchema();
    }
    if ((validate as { $async?: unknown }).$async === true) {
      throw new SchemaCompileError('asynchronous schemas ($async: true) are not supported');
    }
    return { draft, validate };
  }
}

function cleanMessage(message: string): string {
  // ajv names the schema under check `data` (e.g. `data/type must be array`).
  return message.replace(/\bdata(?=[/ .,]|$)/g, 'schema');
}

/** ajv's errors of the last call of `validate`, at most `max`, in the API's shape. */
export function violations(errors: readonly ErrorObject[] | null | undefined, max: number): SchemaViolation[] {
  if (!errors) return [];
  return errors.slice(0, max).map((e) => ({
    instance_path: e.instancePath,
    schema_path: e.schemaPath,
    keyword: e.keyword,
    message: e.message ?? 'is invalid',
    params: e.params as Record<string, unknown>,
  }));
}

/** One line per violation, e.g. `/age must be integer`, `(root) must have required property 'email'`. */
export function violationText(v: SchemaViolation): string {
  const where = v.instance_path === '' ? '(root)' : v.instance_path;
  let message = v.message;
  if (v.keyword === 'additionalProperties' && typeof v.params.additionalProperty === 'string') {
    message += ` ('${v.params.additionalProperty}')`;
  } else if (v.keyword === 'enum' && Array.isArray(v.params.allowedValues)) {
    message += `: ${JSON.stringify(v.params.allowedValues)}`;
  } else if (v.keyword === 'const' && 'allowedValue' in v.params) {
    message += `: ${JSON.stringify(v.params.allowedValue)}`;
  }
  return `${where} ${message}`;
}
