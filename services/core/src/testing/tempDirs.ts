/**
 * Test helper: temporary directories under the OS temp folder.
 *
 *   let dir: string;
 *   beforeEach(async () => { dir = await makeTempDir('allsource-wal-'); });
 *   afterEach(() => removeDir(dir));
 *
 * or one directory for all the tests of a file or `describe`:
 *
 *   const tmp = useTempDir('allsource-store-int-');
 *   it('…', () => { const dir = path.join(tmp.path, 'd1'); });
 */
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

/** A new empty directory `<tmpdir>/<prefix>XXXXXX`. */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Deletes `dir` and everything in it; nothing happens when it is missing or `undefined` (a failed set-up). */
export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/**
 * Registers jest hooks that make a temp directory before the tests of the enclosing file or
 * `describe` and remove it after them; read `path` inside tests and hooks only.
 */
export function useTempDir(prefix: string): { readonly path: string } {
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await makeTempDir(prefix);
  });
  afterAll(() => removeDir(dir));
  return {
    get path(): string {
      if (dir === undefined) throw new Error('the temp directory does not exist yet: use it inside a test or a hook');
      return dir;
    },
  };
}
