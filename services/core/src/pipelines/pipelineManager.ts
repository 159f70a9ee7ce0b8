import * as path from 'node:path';
import { AllSourceError } from '@allsource/errors';
import type { StoredEvent } from '../events/storedEvent';
import type { FileSystem } from '../storage/fs/fileSystem';
import type { EntityStateCache } from './entityStateCache';
import { Pipeline, type PipelineOptions, type PipelineStatsView, type ProcessDelta } from './pipeline';
import { PipelineEvent } from './pipelineEvent';
import type { PipelineConfig } from './types';
import { validatePipelineConfig } from './validateConfig';

export interface PipelineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Signals for metrics; the manager itself knows nothing of Prometheus. */
export interface PipelineObserver {
  /** The number of registered, enabled (active) pipelines changed. */
  onActiveCount?(count: number): void;
  /** A pipeline processed the events of one commit group (only called when it took some in). */
  onProcessed?(name: string, delta: ProcessDelta, seconds: number): void;
}

export interface PipelineManagerOptions {
  /** Where configs are kept, one `<id>.json` each (DATA_DIR/pipelines). */
  dir: string;
  fs: FileSystem;
  /** PIPELINE_MAX. */
  maxPipelines: number;
  /** PIPELINE_MAX_OPERATORS. */
  maxOperators: number;
  pipeline: PipelineOptions;
  /** Entity states for `enrich` from entities; kept current only while an active pipeline needs it. */
  entityCache?: EntityStateCache;
  observer?: PipelineObserver;
  logger: PipelineLogger;
}

export interface StoredPipeline extends PipelineConfig {
  created_at: string;
}

interface Entry {
  pipeline: Pipeline;
  createdAt: string;
}

interface PipelineFile {
  format: 1;
  created_at: string;
  config: PipelineConfig;
}

/**
 * The registry of stream pipelines: validates and persists configs (atomically, one file per
 * pipeline, so they survive a restart), feeds committed events to the enabled ones and isolates
 * their failures from ingestion. Pipeline state (aggregates, windows, stats) lives in memory
 * only and starts empty after a restart.
 */
export class PipelineManager {
  private readonly entries = new Map<string, Entry>();
  /** Enabled pipelines, in creation order: what `process` iterates. */
  private active: Pipeline[] = [];
  private needsEntityState = false;
  /** Ids with a file write or delete in flight. */
  private readonly busy = new Set<string>();

  private constructor(private readonly opts: PipelineManagerOptions) {}

  /** Open the registry: load every stored config (invalid ones are logged and left on disk). */
  static async open(opts: PipelineManagerOptions): Promise<PipelineManager> {
    const manager = new PipelineManager(opts);
    await manager.load();
    return manager;
  }

  private async load(): Promise<void> {
    const { fs, dir, logger } = this.opts;
    await fs.mkdirp(dir);
    const loaded: Array<{ config: PipelineConfig; createdAt: string }> = [];
    for (const name of (await fs.readdir(dir)).sort()) {
      const file = path.join(dir, name);
      if (name.endsWith('.tmp')) {
        // A write interrupted by a crash: the rename never happened, so the old file (if any) stands.
        await fs.unlink(file).catch(() => undefined);
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        const doc = JSON.parse((await fs.readFile(file)).toString('utf8')) as Partial<PipelineFile>;
        const config = validatePipelineConfig(doc.config, { maxOperators: Number.MAX_SAFE_INTEGER });
        if (`${config.id}.json` !== name) throw new Error(`the file holds pipeline '${config.id}'`);
        loaded.push({ config, createdAt: typeof doc.created_at === 'string' ? doc.created_at : new Date(0).toISOString() });
      } catch (err) {
        logger.warn({ file, err: err instanceof Error ? err.message : String(err) }, 'pipeline config not loaded: unreadable or invalid');
      }
    }
    loaded.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
    for (const { config, createdAt } of loaded) {
      if (this.entries.size >= this.opts.maxPipelines) {
        logger.warn({ pipeline_id: config.id }, 'pipeline config not loaded: PIPELINE_MAX pipelines are already registered');
        continue;
      }
      this.entries.set(config.id, { pipeline: new Pipeline(config, this.opts.pipeline), createdAt });
    }
    this.changed();
    if (this.entries.size > 0) logger.info({ pipelines: this.entries.size }, 'pipelines loaded');
  }

  private changed(): void {
    this.active = [...this.entries.values()].map((e) => e.pipeline).filter((p) => p.config.enabled);
    const needs = this.active.some((p) => p.usesEntityState);
    // Not kept current while nobody reads it: forget it, so it is never stale when needed again.
    if (!needs) this.opts.entityCache?.clear();
    this.needsEntityState = needs;
    this.opts.observer?.onActiveCount?.(this.active.length);
  }

  private file(id: string): string {
    return path.join(this.opts.dir, `${id}.json`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Validate, persist and register a pipeline. 400 invalid, 409 duplicate id, 429 too many, 503 disk. */
  async create(body: unknown): Promise<StoredPipeline> {
    const config = validatePipelineConfig(body, { maxOperators: this.opts.maxOperators });
    if (this.entries.has(config.id) || this.busy.has(config.id)) {
      throw new AllSourceError('CONFLICT', `a pipeline with id '${config.id}' already exists`, { pipeline_id: config.id });
    }
    if (this.entries.size + this.busy.size >= this.opts.maxPipelines) {
      throw new AllSourceError('RATE_LIMITED', `at most ${this.opts.maxPipelines} pipelines can be registered (PIPELINE_MAX); delete one first`);
    }
    const createdAt = new Date().toISOString();
    const doc: PipelineFile = { format: 1, created_at: createdAt, config };
    this.busy.add(config.id);
    try {
      await this.opts.fs.writeFileAtomic(this.file(config.id), Buffer.from(`${JSON.stringify(doc, null, 2)}\n`));
    } catch (err) {
      this.opts.logger.error({ err, pipeline_id: config.id }, 'could not store a pipeline config');
      throw new AllSourceError('STORAGE_UNAVAILABLE', 'the pipeline config could not be written; nothing was registered');
    } finally {
      this.busy.delete(config.id);
    }
    this.entries.set(config.id, { pipeline: new Pipeline(config, this.opts.pipeline), createdAt });
    this.changed();
    return { ...config, created_at: createdAt };
  }

  list(): StoredPipeline[] {
    return [...this.entries.values()].map((e) => ({ ...e.pipeline.config, created_at: e.createdAt }));
  }

  private entry(id: string): Entry {
    const e = this.entries.get(id);
    if (!e) throw new AllSourceError('NOT_FOUND', `no pipeline with id '${id}'`);
    return e;
  }

  get(id: string): StoredPipeline {
    const e = this.entry(id);
    return { ...e.pipeline.config, created_at: e.createdAt };
  }

  /** Unregister and delete the stored config. 404 unknown, 409 while a change of it is in flight, 503 disk. */
  async delete(id: string): Promise<void> {
    const e = this.entry(id);
    if (this.busy.has(id)) throw new AllSourceError('CONFLICT', `pipeline '${id}' is being changed; retry`);
    this.entries.delete(id);
    this.changed();
    this.busy.add(id);
    try {
      await this.opts.fs.unlink(this.file(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        // Still on disk: keep it registered, as it would come back at the next start anyway.
        this.entries.set(id, e);
        this.changed();
        this.opts.logger.error({ err, pipeline_id: id }, 'could not delete a pipeline config');
        throw new AllSourceError('STORAGE_UNAVAILABLE', 'the pipeline config could not be deleted');
      }
    } finally {
      this.busy.delete(id);
    }
  }

  stats(id: string): PipelineStatsView {
    return this.entry(id).pipeline.stats();
  }

  allStats(): PipelineStatsView[] {
    return [...this.entries.values()].map((e) => e.pipeline.stats());
  }

  /** Results of one pipeline; windows the watermark `nowUs` has passed are closed first. */
  results(id: string, nowUs?: number): Record<string, unknown> {
    return this.entry(id).pipeline.results(nowUs);
  }

  reset(id: string): void {
    this.entry(id).pipeline.reset();
  }

  /**
   * The store's commit listener: synchronous, never throws. Each enabled pipeline gets the
   * group's events; payloads are parsed once per event, only if some pipeline reads them.
   */
  process(events: readonly StoredEvent[]): void {
    const active = this.active;
    if (active.length === 0 || events.length === 0) return;
    let wrapped: PipelineEvent[] | undefined;
    for (const p of active) {
      try {
        wrapped ??= events.map((e) => new PipelineEvent(e));
        const started = performance.now();
        const delta = p.process(wrapped);
        if (delta.received > 0) this.opts.observer?.onProcessed?.(p.config.name, delta, (performance.now() - started) / 1000);
      } catch (err) {
        this.opts.logger.error({ err, pipeline_id: p.config.id }, 'pipeline failed on a commit group');
      }
    }
    if (this.needsEntityState && wrapped) {
      try {
        this.opts.entityCache?.apply(wrapped);
      } catch (err) {
        this.opts.entityCache?.clear();
        this.opts.logger.error({ err }, 'pipeline entity state cache failed on a commit group; cleared');
      }
    }
  }
}
