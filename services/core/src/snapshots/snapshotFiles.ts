import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { jsonString } from '../events/jsonText';
import type { EngineLogger } from '../storage/eventStore';
import type { FileSystem } from '../storage/fs/fileSystem';
import type { Snapshot, SnapshotType } from './snapshotRepository';

const FORMAT = 1;
const FILE_NAME = /^[0-9a-f]{64}\.json$/;

/**
 * One file per entity: `<sha256 of the entity id, hex>.json`, so any entity id (any Unicode,
 * slashes, dots) gives a safe, fixed-length name. The entity id is stored inside and checked.
 */
export function snapshotFileName(entityId: string): string {
  return `${createHash('sha256').update(entityId, 'utf8').digest('hex')}.json`;
}

/** The file of an entity's snapshots; states are embedded as the JSON text they are kept as. */
export function encodeEntityFile(entityId: string, snapshots: readonly Snapshot[]): Buffer {
  let json = `{"format":${FORMAT},"entity_id":${jsonString(entityId)},"snapshots":[`;
  snapshots.forEach((s, i) => {
    if (i > 0) json += ',';
    json +=
      `{"id":${jsonString(s.id)},"created_at_us":${s.createdAtUs},"as_of_us":${s.asOfUs},` +
      `"event_count":${s.eventCount},"last_event_id":${jsonString(s.lastEventId)},` +
      `"snapshot_type":${jsonString(s.type)},"state":${s.stateJson}}`;
  });
  json += ']}';
  return Buffer.from(json, 'utf8');
}

function isSafeInt(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
}

/** Parse and check an entity file; throws with the reason when anything is off. */
export function decodeEntityFile(data: Buffer): { entityId: string; snapshots: Snapshot[] } {
  const raw = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null || raw.format !== FORMAT) throw new Error('not a snapshot file of a known format');
  const entityId = raw.entity_id;
  if (typeof entityId !== 'string' || entityId === '') throw new Error('entity_id missing');
  if (!Array.isArray(raw.snapshots)) throw new Error('snapshots missing');
  const snapshots = (raw.snapshots as unknown[]).map((item, i): Snapshot => {
    const s = item as Record<string, unknown>;
    const type = s.snapshot_type;
    const state = s.state;
    if (
      typeof s !== 'object' ||
      s === null ||
      typeof s.id !== 'string' ||
      typeof s.last_event_id !== 'string' ||
      !isSafeInt(s.created_at_us, 0) ||
      !isSafeInt(s.as_of_us, 0) ||
      !isSafeInt(s.event_count, 1) ||
      (type !== 'manual' && type !== 'automatic') ||
      typeof state !== 'object' ||
      state === null ||
      Array.isArray(state)
    ) {
      throw new Error(`snapshots[${i}] is malformed`);
    }
    // JSON.stringify of parsed JSON.stringify output gives back the same text.
    const stateJson = JSON.stringify(state);
    return {
      id: s.id,
      entityId,
      createdAtUs: s.created_at_us,
      asOfUs: s.as_of_us,
      eventCount: s.event_count,
      lastEventId: s.last_event_id,
      type: type as SnapshotType,
      stateJson,
      sizeBytes: Buffer.byteLength(stateJson, 'utf8'),
    };
  });
  return { entityId, snapshots };
}

export interface LoadResult {
  snapshots: Snapshot[];
  filesRead: number;
  /** Files that could not be read or parsed (left in place, logged). */
  badFiles: string[];
  /** Leftover temporary files of interrupted writes, removed. */
  tempFilesRemoved: number;
}

/**
 * The snapshots folder (`DATA_DIR/snapshots`): loading at start, and one writer that rewrites an
 * entity's file (atomically: temp file, fsync, rename) whenever its snapshots change. Writes of
 * different entities are serialised; several changes of one entity waiting for the writer are
 * written once, with the state current at write time.
 */
export class SnapshotFiles {
  /** Entities whose file must be rewritten, with the callers waiting for that write. */
  private readonly dirty = new Map<string, Array<{ resolve: () => void; reject: (err: unknown) => void }>>();
  private running: Promise<void> | undefined;
  private writes = 0;
  private writeErrors = 0;

  constructor(
    readonly dir: string,
    private readonly fs: FileSystem,
    private readonly current: (entityId: string) => readonly Snapshot[],
    private readonly log: EngineLogger,
  ) {}

  get stats(): { writes: number; writeErrors: number; pending: number } {
    return { writes: this.writes, writeErrors: this.writeErrors, pending: this.dirty.size };
  }

  async load(): Promise<LoadResult> {
    await this.fs.mkdirp(this.dir);
    const result: LoadResult = { snapshots: [], filesRead: 0, badFiles: [], tempFilesRemoved: 0 };
    for (const name of await this.fs.readdir(this.dir)) {
      const file = path.join(this.dir, name);
      if (name.endsWith('.tmp')) {
        await this.fs.unlink(file).catch(() => undefined);
        result.tempFilesRemoved++;
        continue;
      }
      if (!FILE_NAME.test(name)) continue;
      try {
        const { entityId, snapshots } = decodeEntityFile(await this.fs.readFile(file));
        if (snapshotFileName(entityId) !== name) throw new Error(`holds entity '${entityId}', whose file has another name`);
        result.snapshots.push(...snapshots);
        result.filesRead++;
      } catch (err) {
        result.badFiles.push(name);
        this.log.warn({ err, file }, 'snapshot file could not be read; its snapshots are not used');
      }
    }
    return result;
  }

  /**
   * Schedule a rewrite of the entity's file (deleted when it has no snapshots left). With
   * `wait`, resolves once a write that started after this call is durable (rejects if it fails).
   */
  markDirty(entityId: string, wait: true): Promise<void>;
  markDirty(entityId: string, wait?: false): void;
  markDirty(entityId: string, wait = false): Promise<void> | void {
    let waiters = this.dirty.get(entityId);
    if (!waiters) this.dirty.set(entityId, (waiters = []));
    const list = waiters;
    const done = wait ? new Promise<void>((resolve, reject) => list.push({ resolve, reject })) : undefined;
    this.running ??= this.run();
    return done;
  }

  /** Resolves once every scheduled write has finished. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    try {
      // Let the caller finish its synchronous work (more changes may join this write).
      await Promise.resolve();
      while (this.dirty.size > 0) {
        const [entityId, waiters] = this.dirty.entries().next().value as [string, Array<{ resolve: () => void; reject: (err: unknown) => void }>];
        this.dirty.delete(entityId);
        try {
          await this.write(entityId);
          this.writes++;
          for (const w of waiters) w.resolve();
        } catch (err) {
          this.writeErrors++;
          this.log.error({ err, entity_id: entityId }, 'snapshot file could not be written; the snapshots stay in memory only');
          for (const w of waiters) w.reject(err);
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  private async write(entityId: string): Promise<void> {
    const file = path.join(this.dir, snapshotFileName(entityId));
    const snapshots = this.current(entityId);
    if (snapshots.length === 0) {
      if (await this.fs.exists(file)) {
        await this.fs.unlink(file);
        await this.fs.fsyncDir(this.dir);
      }
      return;
    }
    await this.fs.mkdirp(this.dir);
    await this.fs.writeFileAtomic(file, encodeEntityFile(entityId, snapshots));
  }
}
