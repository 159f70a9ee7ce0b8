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
  /**
   * CRC-32C of the whole file, checked when recovery reads it and before a compaction merges it
   * (absent in manifests written before it existed: then not checked). Parquet pages carry no
   * checksum and Snappy none either, so without it a flipped bit could be served as data.
   * Stored in the manifest's `checksums` map, beside the list.
   */
  crc32c?: number;
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
  const parsed = JSON.parse((await fs.readFile(file)).toString('utf8')) as Manifest & { checksums?: Record<string, unknown> };
  if (parsed.formatVersion !== 1 || !Array.isArray(parsed.segments)) {
    throw new Error(`unsupported manifest format in ${file}`);
  }
  const { checksums, ...manifest } = parsed;
  for (const s of manifest.segments) {
    const crc = checksums?.[s.file];
    if (typeof crc === 'number' && Number.isInteger(crc)) s.crc32c = crc;
  }
  return manifest;
}

/**
 * On disk the checksums sit beside the segment list (`"checksums": {file: crc32c}`), so the
 * list keeps the shape tools and older versions read; a manifest without them is checked less.
 */
export async function writeManifest(fs: FileSystem, dir: string, manifest: Manifest): Promise<void> {
  const checksums: Record<string, number> = {};
  const segments = manifest.segments.map(({ crc32c, ...info }) => {
    if (crc32c !== undefined) checksums[info.file] = crc32c;
    return info;
  });
  const onDisk = { ...manifest, segments, checksums };
  await fs.writeFileAtomic(path.join(dir, MANIFEST_FILE), Buffer.from(JSON.stringify(onDisk, null, 1)));
}

export function segmentFileName(firstLsn: number, lastLsn: number, generation: number): string {
  const pad = (n: number) => String(n).padStart(16, '0');
  return `seg-${pad(firstLsn)}-${pad(lastLsn)}-g${generation}.parquet`;
}

/** The LSN range and generation a segment file name encodes (`undefined` for any other name). */
export function parseSegmentFileName(name: string): { firstLsn: number; lastLsn: number; generation: number } | undefined {
  const m = /^seg-(\d{16})-(\d{16})-g(\d+)\.parquet$/.exec(name);
  if (!m) return undefined;
  const [firstLsn, lastLsn, generation] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return firstLsn <= lastLsn ? { firstLsn, lastLsn, generation } : undefined;
}
