import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { AllSourceError } from '@allsource/errors';
import type { Logger } from 'pino';
import type { NewEvent } from '../events/storedEvent';
import { eventTypeProblem } from '../events/validation';
import { nodeFileSystem, type FileSystem } from '../storage/fs/fileSystem';
import { COMPATIBILITY_MODES, compatibilityProblems, type CompatibilityMode } from './compatibility';
import { jsonEqual } from './jsonEqual';
import { PatternCheckTooCostly, REQUEST_MAX_MS, withPatternDeadline } from './linearPattern';
import {
  SchemaCompileError,
  SchemaCompiler,
  draftOf,
  violationText,
  violations,
  type CompiledSchema,
  type Draft,
  type SchemaViolation,
} from './jsonSchema';

/**
 * The schema registry: JSON Schemas per subject (= event type), versioned from 1, checked for
 * compatibility against the previous version, persisted under `DATA_DIR/schemas/`, and used to
 * validate payloads (on demand and, when enforcement is on, on ingest).
 *
 * On disk, one folder per subject:
 *
 *   schemas/<subject>/v000001.json   one version: {id, subject, version, schema, created_at, description, tags}
 *   schemas/<subject>/settings.json  {compatibility, enforce}, once either was changed
 *
 * Every file is written atomically (temp file, fsync, rename, fsync folder) and never changed
 * afterwards, except settings.json, which is replaced whole. Writes are serialized.
 */

export interface SchemaRegistryLimits {
  maxSubjects: number;
  maxVersionsPerSubject: number;
  /** JSON bytes of one schema. */
  maxSchemaBytes: number;
  /** JSON bytes of all versions kept. */
  maxTotalBytes: number;
  /** Compiled validators kept (LRU). */
  validatorCacheEntries: number;
  /** Writes waiting for their turn. */
  maxPendingWrites: number;
  /** Validation errors reported per payload. */
  maxErrors: number;
}

export interface SchemaRegistryObserver {
  onRegistered?(subject: string, version: number): void;
  onValidation?(subject: string, valid: boolean, seconds: number): void;
  /** Whether any ingest enforcement applies may have changed (see `enforcing`). */
  onEnforcementChange?(): void;
}

export interface SchemaRegistryOptions {
  /** The registry's folder (DATA_DIR/schemas). */
  dir: string;
  limits: SchemaRegistryLimits;
  /** `all`: every subject's latest schema is enforced on ingest; `off`: only subjects switched on. */
  enforcement: 'off' | 'all';
  fs?: FileSystem;
  logger?: Logger;
  observer?: SchemaRegistryObserver;
}

export interface SchemaVersionRecord {
  id: string;
  subject: string;
  version: number;
  schema: unknown;
  draft: Draft;
  /** RFC 3339. */
  createdAt: string;
  description: string | null;
  tags: string[];
  /** JSON bytes of `schema`. */
  bytes: number;
}

export interface SubjectSettings {
  compatibility: CompatibilityMode;
  /** Enforcement switched on for this subject. */
  enforce: boolean;
  /** Whether ingest enforces this subject's latest schema (per subject or globally). */
  enforced: boolean;
}

export interface RegisterInput {
  subject: string;
  schema: unknown;
  description?: string | null;
  tags?: readonly string[] | null;
}

export interface RegisterResult {
  record: SchemaVersionRecord;
  /** False when the schema equals the subject's latest version, which is returned instead. */
  created: boolean;
}

export interface ValidationResult {
  valid: boolean;
  version: number;
  violations: SchemaViolation[];
}

interface SubjectState {
  name: string;
  /** Ascending by version. */
  versions: SchemaVersionRecord[];
  /** The highest version number ever written (files that failed to load included). */
  highestVersion: number;
  compatibility: CompatibilityMode;
  enforce: boolean;
}

const VERSION_FILE = /^v(\d{1,9})\.json$/;
const SETTINGS_FILE = 'settings.json';
const versionFile = (version: number): string => `v${String(version).padStart(6, '0')}.json`;

export class SchemaRegistry {
  private readonly subjects = new Map<string, SubjectState>();
  /** Subjects whose folder holds only unreadable versions: their numbers are never reused. */
  private readonly reservedVersions = new Map<string, number>();
  private readonly compiler = new SchemaCompiler();
  /** Compiled validators by `subject@version`, least recently used first. */
  private readonly validators = new Map<string, CompiledSchema>();
  private readonly fs: FileSystem;
  private readonly limits: SchemaRegistryLimits;
  private readonly observer: SchemaRegistryObserver;
  private totalBytes = 0;
  private enforcedSubjects = 0;
  private writes: Promise<unknown> = Promise.resolve();
  private pendingWrites = 0;

  private constructor(private readonly opts: SchemaRegistryOptions) {
    this.fs = opts.fs ?? nodeFileSystem;
    this.limits = opts.limits;
    this.observer = opts.observer ?? {};
  }

  /** Open the registry, loading what `dir` holds (created when missing). */
  static async open(opts: SchemaRegistryOptions): Promise<SchemaRegistry> {
    const registry = new SchemaRegistry(opts);
    await registry.load();
    return registry;
  }

  // --- reading ------------------------------------------------------------------------------

  /** Subject names, sorted. */
  subjectNames(): string[] {
    return [...this.subjects.keys()].sort();
  }

  /** A subject's version (latest when none is given); 404 when unknown. */
  get(subject: string, version?: number): SchemaVersionRecord {
    const state = this.subjectState(subject);
    if (version === undefined) return state.versions[state.versions.length - 1]!;
    const record = state.versions.find((v) => v.version === version);
    if (!record) throw new AllSourceError('NOT_FOUND', `subject '${subject}' has no version ${version}`);
    return record;
  }

  versions(subject: string): number[] {
    return this.subjectState(subject).versions.map((v) => v.version);
  }

  settings(subject: string): SubjectSettings {
    const state = this.subjectState(subject);
    return { compatibility: state.compatibility, enforce: state.enforce, enforced: this.isEnforced(state) };
  }

  /** Whether ingest has anything to enforce (the ingest hook is installed only then). */
  get enforcing(): boolean {
    return this.opts.enforcement === 'all' ? this.subjects.size > 0 : this.enforcedSubjects > 0;
  }

  /** Compiled validators currently cached. */
  get cachedValidators(): number {
    return this.validators.size;
  }

  // --- writing ------------------------------------------------------------------------------

  /**
   * Register a new version of a subject: 400 for an invalid subject or schema, 413 for a schema
   * over the size limit, 409 when it breaks the subject's compatibility with the latest version,
   * 400 past the registry's limits. A schema equal to the latest version registers nothing and
   * returns that version.
   */
  async register(input: RegisterInput): Promise<RegisterResult> {
    const problem = eventTypeProblem(input.subject);
    if (problem) throw new AllSourceError('INVALID_INPUT', problem.replace('event_type', 'subject'));
    if (input.schema === undefined) throw new AllSourceError('INVALID_INPUT', 'schema is required');
    const json = JSON.stringify(input.schema);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > this.limits.maxSchemaBytes) {
      throw new AllSourceError('PAYLOAD_TOO_LARGE', `the schema is ${bytes} bytes, more than the limit of ${this.limits.maxSchemaBytes} (SCHEMA_MAX_SCHEMA_BYTES)`);
    }
    // A private copy: nothing outside the registry holds a reference to what it stores.
    const schema: unknown = JSON.parse(json);
    const name = input.subject;
    return this.serialized(async () => {
      const existing = this.subjects.get(name);
      const latest = existing?.versions[existing.versions.length - 1];
      if (latest && jsonEqual(latest.schema, schema)) return { record: latest, created: false };
      if (!existing && this.subjects.size >= this.limits.maxSubjects) {
        throw new AllSourceError('INVALID_INPUT', `the registry holds at most ${this.limits.maxSubjects} subjects (SCHEMA_MAX_SUBJECTS)`);
      }
      if (existing && existing.versions.length >= this.limits.maxVersionsPerSubject) {
        throw new AllSourceError(
          'INVALID_INPUT',
          `subject '${name}' holds the most versions allowed, ${this.limits.maxVersionsPerSubject} (SCHEMA_MAX_VERSIONS_PER_SUBJECT)`,
        );
      }
      if (this.totalBytes + bytes > this.limits.maxTotalBytes) {
        throw new AllSourceError('INVALID_INPUT', `the registry's schemas would exceed ${this.limits.maxTotalBytes} bytes (SCHEMA_MAX_TOTAL_BYTES)`);
      }
      // Compiling is the costly step (~4 ms per KiB of schema here): only once every cheaper
      // check has passed, and only for a request the write queue took.
      let compiled: CompiledSchema;
      try {
        compiled = this.compiler.compile(schema);
      } catch (err) {
        if (err instanceof SchemaCompileError) throw new AllSourceError('INVALID_INPUT', `invalid JSON Schema: ${err.message}`);
        throw err;
      }
      const mode = existing?.compatibility ?? 'BACKWARD';
      if (latest && mode !== 'NONE') {
        let problems: string[];
        try {
          problems = withPatternDeadline(REQUEST_MAX_MS, () => compatibilityProblems(latest, { schema, draft: compiled.draft }, mode));
        } catch (err) {
          if (err instanceof PatternCheckTooCostly) throw new AllSourceError('INVALID_INPUT', `the compatibility check could not finish: ${err.message}`);
          throw err;
        }
        if (problems.length > 0) {
          throw new AllSourceError(
            'CONFLICT',
            `the schema is not ${mode} compatible with version ${latest.version} of '${name}': ${problems[0]}` +
              (problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : ''),
            { compatibility: mode, previous_version: latest.version, problems },
          );
        }
      }
      const version = Math.max(existing?.highestVersion ?? 0, this.reservedVersions.get(name) ?? 0) + 1;
      const record: SchemaVersionRecord = {
        id: randomUUID(),
        subject: name,
        version,
        schema,
        draft: compiled.draft,
        createdAt: new Date().toISOString(),
        description: input.description ?? null,
        tags: [...(input.tags ?? [])],
        bytes,
      };
      const dir = path.join(this.opts.dir, name);
      await this.durably(async () => {
        if (!existing) {
          await this.fs.mkdirp(dir);
          await this.fs.fsyncDir(this.opts.dir);
        }
        await this.fs.writeFileAtomic(path.join(dir, versionFile(version)), Buffer.from(JSON.stringify(schemaVersionJson(record))));
      });
      const state: SubjectState = existing ?? { name, versions: [], highestVersion: 0, compatibility: 'BACKWARD', enforce: false };
      state.versions.push(record);
      state.highestVersion = version;
      this.totalBytes += bytes;
      this.cacheValidator(record, compiled);
      if (!existing) {
        this.subjects.set(name, state);
        this.reservedVersions.delete(name);
      }
      this.observer.onRegistered?.(name, version);
      if (!existing) this.observer.onEnforcementChange?.();
      return { record, created: true };
    });
  }

  /** Set a subject's compatibility mode (persisted); 404 for an unknown subject. */
  async setCompatibility(subject: string, compatibility: CompatibilityMode): Promise<SubjectSettings> {
    if (!COMPATIBILITY_MODES.includes(compatibility)) {
      throw new AllSourceError('INVALID_INPUT', `compatibility must be one of ${COMPATIBILITY_MODES.join(', ')}`);
    }
    return this.serialized(async () => {
      const state = this.subjectState(subject);
      await this.writeSettings(state, compatibility, state.enforce);
      state.compatibility = compatibility;
      return this.settings(subject);
    });
  }

  /** Switch ingest enforcement of a subject on or off (persisted); 404 for an unknown subject. */
  async setEnforcement(subject: string, enforce: boolean): Promise<SubjectSettings> {
    return this.serialized(async () => {
      const state = this.subjectState(subject);
      await this.writeSettings(state, state.compatibility, enforce);
      if (state.enforce !== enforce) this.enforcedSubjects += enforce ? 1 : -1;
      state.enforce = enforce;
      this.observer.onEnforcementChange?.();
      return this.settings(subject);
    });
  }

  /** Wait for the writes in flight. */
  async close(): Promise<void> {
    await this.writes;
  }

  // --- validation ---------------------------------------------------------------------------

  /** Validate a payload against a subject's version (latest by default); 404 for an unknown subject or version. */
  validate(subject: string, payload: unknown, version?: number): ValidationResult {
    const record = this.get(subject, version);
    try {
      return withPatternDeadline(REQUEST_MAX_MS, () => this.run(record, payload));
    } catch (err) {
      if (err instanceof PatternCheckTooCostly) throw tooCostly(err, record, '');
      throw err;
    }
  }

  /**
   * The ingest hook: every event whose type has a schema under enforcement must match its
   * latest version, or the whole request is rejected (422 VALIDATION_FAILED naming the index).
   */
  validateEvents(events: readonly NewEvent[]): void {
    // One bound on pattern checking for the whole request (see linearPattern.ts).
    withPatternDeadline(REQUEST_MAX_MS, () => {
      for (let i = 0; i < events.length; i++) this.validateEvent(events, i);
    });
  }

  private validateEvent(events: readonly NewEvent[], i: number): void {
    const event = events[i]!;
    const state = this.subjects.get(event.eventType);
    if (!state || !this.isEnforced(state)) return;
    const latest = state.versions[state.versions.length - 1]!;
    const where = events.length > 1 ? `events[${i}]: ` : '';
    let result: ValidationResult;
    try {
      result = this.run(latest, JSON.parse(event.payloadJson));
    } catch (err) {
      if (err instanceof PatternCheckTooCostly) throw tooCostly(err, latest, where, { index: i, event_type: event.eventType });
      throw err;
    }
    if (result.valid) return;
    const shown = result.violations.slice(0, 3).map(violationText).join('; ');
    const more = result.violations.length > 3 ? ` (and ${result.violations.length - 3} more)` : '';
    throw new AllSourceError(
      'VALIDATION_FAILED',
      `${where}payload does not match schema '${state.name}' version ${latest.version}: ${shown}${more}`,
      { index: i, event_type: event.eventType, schema_version: latest.version, errors: result.violations },
    );
  }

  private run(record: SchemaVersionRecord, payload: unknown): ValidationResult {
    const { validate } = this.validatorFor(record);
    const started = performance.now();
    let valid: boolean;
    try {
      valid = validate(payload) as boolean;
    } catch (err) {
      // Refused for the cost of its pattern checks: counted as an invalid payload.
      if (err instanceof PatternCheckTooCostly) this.observer.onValidation?.(record.subject, false, (performance.now() - started) / 1000);
      throw err;
    }
    const seconds = (performance.now() - started) / 1000;
    const found = valid ? [] : violations(validate.errors, this.limits.maxErrors);
    this.observer.onValidation?.(record.subject, valid, seconds);
    return { valid, version: record.version, violations: found };
  }

  // --- internals ----------------------------------------------------------------------------

  private subjectState(subject: string): SubjectState {
    const state = this.subjects.get(subject);
    if (!state) throw new AllSourceError('NOT_FOUND', `no schema is registered for subject '${subject}'`);
    return state;
  }

  private isEnforced(state: SubjectState): boolean {
    return this.opts.enforcement === 'all' || state.enforce;
  }

  private validatorFor(record: SchemaVersionRecord): CompiledSchema {
    const key = `${record.subject}@${record.version}`;
    const cached = this.validators.get(key);
    if (cached) {
      this.validators.delete(key);
      this.validators.set(key, cached);
      return cached;
    }
    let compiled: CompiledSchema;
    try {
      compiled = this.compiler.compile(record.schema);
    } catch (err) {
      this.opts.logger?.error({ err, subject: record.subject, version: record.version }, 'a stored schema no longer compiles');
      throw new AllSourceError('INTERNAL', `version ${record.version} of '${record.subject}' could not be compiled`);
    }
    this.cacheValidator(record, compiled);
    return compiled;
  }

  private cacheValidator(record: SchemaVersionRecord, compiled: CompiledSchema): void {
    const key = `${record.subject}@${record.version}`;
    this.validators.delete(key);
    this.validators.set(key, compiled);
    while (this.validators.size > this.limits.validatorCacheEntries) {
      this.validators.delete(this.validators.keys().next().value!);
    }
  }

  /** Run `write` after the writes before it; at most `maxPendingWrites` wait (more → 503). */
  private serialized<T>(write: () => Promise<T>): Promise<T> {
    if (this.pendingWrites >= this.limits.maxPendingWrites) {
      return Promise.reject(
        new AllSourceError('OVERLOADED', `${this.pendingWrites} schema registry writes are waiting (SCHEMA_MAX_PENDING_WRITES); retry later`),
      );
    }
    this.pendingWrites++;
    const run = this.writes.then(write);
    this.writes = run.catch(() => undefined);
    return run.finally(() => {
      this.pendingWrites--;
    });
  }

  /** A disk write whose failure becomes 503 (the registry's memory is left as it was). */
  private async durably(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      this.opts.logger?.error({ err }, 'schema registry write failed');
      throw new AllSourceError('STORAGE_UNAVAILABLE', `the schema registry could not write to disk: ${(err as Error).message}`);
    }
  }

  private async writeSettings(state: SubjectState, compatibility: CompatibilityMode, enforce: boolean): Promise<void> {
    const file = path.join(this.opts.dir, state.name, SETTINGS_FILE);
    await this.durably(() => this.fs.writeFileAtomic(file, Buffer.from(JSON.stringify({ compatibility, enforce }))));
  }

  private async load(): Promise<void> {
    const log = this.opts.logger;
    await this.fs.mkdirp(this.opts.dir);
    for (const name of (await this.fs.readdir(this.opts.dir)).sort()) {
      const dir = path.join(this.opts.dir, name);
      if (eventTypeProblem(name) !== undefined) {
        if (name.endsWith('.tmp')) await this.fs.unlink(dir).catch(() => undefined);
        else log?.warn({ entry: name }, 'ignoring an unexpected entry in the schemas folder');
        continue;
      }
      let entries: string[];
      try {
        entries = await this.fs.readdir(dir);
      } catch (err) {
        log?.warn({ entry: name, err }, 'ignoring an unexpected entry in the schemas folder');
        continue;
      }
      const state: SubjectState = { name, versions: [], highestVersion: 0, compatibility: 'BACKWARD', enforce: false };
      for (const entry of entries) {
        const file = path.join(dir, entry);
        if (entry.endsWith('.tmp')) {
          // Left by a write that crashed before its rename: never acknowledged.
          await this.fs.unlink(file).catch(() => undefined);
          continue;
        }
        if (entry === SETTINGS_FILE) {
          try {
            const s = JSON.parse((await this.fs.readFile(file)).toString('utf8')) as { compatibility?: unknown; enforce?: unknown };
            if (COMPATIBILITY_MODES.includes(s.compatibility as CompatibilityMode)) state.compatibility = s.compatibility as CompatibilityMode;
            if (typeof s.enforce === 'boolean') state.enforce = s.enforce;
          } catch (err) {
            log?.error({ file, err }, 'unreadable schema settings; using the defaults');
          }
          continue;
        }
        const m = VERSION_FILE.exec(entry);
        if (!m) {
          log?.warn({ file }, 'ignoring an unexpected file in the schemas folder');
          continue;
        }
        const version = Number(m[1]);
        state.highestVersion = Math.max(state.highestVersion, version);
        try {
          state.versions.push(parseRecord(JSON.parse((await this.fs.readFile(file)).toString('utf8')), name, version));
        } catch (err) {
          log?.error({ file, err }, 'unreadable schema version; skipped (its version number is not reused)');
        }
      }
      if (state.versions.length === 0) {
        if (state.highestVersion > 0) this.reservedVersions.set(name, state.highestVersion);
        continue;
      }
      state.versions.sort((a, b) => a.version - b.version);
      for (const v of state.versions) this.totalBytes += v.bytes;
      if (state.enforce) this.enforcedSubjects++;
      this.subjects.set(name, state);
    }
    if (this.subjects.size > this.limits.maxSubjects) {
      log?.warn({ subjects: this.subjects.size, max: this.limits.maxSubjects }, 'more subjects on disk than SCHEMA_MAX_SUBJECTS; new subjects are refused');
    }
    log?.info({ subjects: this.subjects.size, bytes: this.totalBytes }, 'schema registry loaded');
  }
}

/** A schema version as stored on disk and answered by the API (the same snake_case shape). */
export function schemaVersionJson(r: SchemaVersionRecord): object {
  return {
    id: r.id,
    subject: r.subject,
    version: r.version,
    schema: r.schema,
    created_at: r.createdAt,
    description: r.description,
    tags: r.tags,
  };
}

function parseRecord(raw: unknown, subject: string, version: number): SchemaVersionRecord {
  const r = raw as Record<string, unknown>;
  if (typeof r !== 'object' || r === null) throw new Error('not an object');
  if (r.subject !== subject || r.version !== version) throw new Error('subject or version does not match the file name');
  if (typeof r.id !== 'string' || typeof r.created_at !== 'string' || r.schema === undefined) throw new Error('missing fields');
  return {
    id: r.id,
    subject,
    version,
    schema: r.schema,
    draft: draftOf(r.schema),
    createdAt: r.created_at,
    description: typeof r.description === 'string' ? r.description : null,
    tags: Array.isArray(r.tags) ? r.tags.filter((t): t is string => typeof t === 'string') : [],
    bytes: Buffer.byteLength(JSON.stringify(r.schema), 'utf8'),
  };
}

/** A payload whose pattern checks passed their bounds: refused as not validated (422). */
function tooCostly(err: PatternCheckTooCostly, record: SchemaVersionRecord, where: string, details: Record<string, unknown> = {}): AllSourceError {
  return new AllSourceError(
    'VALIDATION_FAILED',
    `${where}payload could not be checked against schema '${record.subject}' version ${record.version}: ${err.message}`,
    { ...details, schema_version: record.version, errors: [] },
  );
}
