import * as path from 'node:path';
import type { FileSystem } from '../fs/fileSystem';

/** One Parquet segment as the manifest records it. */
export interface SegmentInfo {
  file: string;
  firstLsn: number;
  lastLsn: number;
  events: number;
  bytes: number;
  minTimestampUs: number;
  maxTimestampUs: number;
  /** 0 for a flush, n+1 for a compaction of generation-n segments. */
  generation: number;
}

/**
 * The list of live segments and the highest LSN they cover. It is replaced atomically (write
 * temp, fsync, rename, fsync folder), so a crash leaves either the old or the new list.
 */
export interface Manifest {
  formatVersion: 1;
  flushedLsn: number;
  segments: SegmentInfo[];
}

export const MANIFEST_FILE = 'manifest.json';

export function emptyManifest(): Manifest {
  return { formatVersion: 1, flushedLsn: -1, segments: [] };
}

export async function readManifest(fs: FileSystem, dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  if (!(await fs.exists(file))) return emptyManifest();
  const parsed = JSON.parse((await fs.readFile(file)).toString('utf8')) as Manifest;
  if (parsed.formatVersion !== 1 || !Array.isArray(parsed.segments)) {
    throw new Error(`unsupported manifest format in ${file}`);
  }
  return parsed;
}

export async function writeManifest(fs: FileSystem, dir: string, manifest: Manifest): Promise<void> {
  await fs.writeFileAtomic(path.join(dir, MANIFEST_FILE), Buffer.from(JSON.stringify(manifest, null, 1)));
}

export function segmentFileName(firstLsn: number, lastLsn: number, generation: number): string {
  const pad = (n: number) => String(n).padStart(16, '0');
  return `seg-${pad(firstLsn)}-${pad(lastLsn)}-g${generation}.parquet`;
}
