import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The storage engine's only door to the disk. Every write, sync, rename and delete goes through
 * this seam so that tests can inject faults (ENOSPC, EIO) without touching the engine's code.
 */
export interface FileSystem {
  mkdirp(dir: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  exists(file: string): Promise<boolean>;
  size(file: string): Promise<number>;
  readFile(file: string): Promise<Buffer>;
  /** Write a whole file durably: temp file, fsync, rename over `file`, fsync the folder. */
  writeFileAtomic(file: string, data: Uint8Array): Promise<void>;
  openAppend(file: string): Promise<number>;
  write(fd: number, data: Uint8Array): Promise<void>;
  fdatasync(fd: number): Promise<void>;
  truncate(file: string, length: number): Promise<void>;
  close(fd: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  fsyncDir(dir: string): Promise<void>;
}

function writeAll(fd: number, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (offset: number): void => {
      fs.write(fd, data, offset, data.length - offset, null, (err, written) => {
        if (err) return reject(err);
        if (offset + written < data.length) return step(offset + written);
        resolve();
      });
    };
    step(0);
  });
}

let tempCounter = 0;

export const nodeFileSystem: FileSystem = {
  async mkdirp(dir) {
    await fs.promises.mkdir(dir, { recursive: true });
  },
  readdir: (dir) => fs.promises.readdir(dir),
  async exists(file) {
    try {
      await fs.promises.access(file);
      return true;
    } catch {
      return false;
    }
  },
  async size(file) {
    return (await fs.promises.stat(file)).size;
  },
  readFile: (file) => fs.promises.readFile(file),
  async writeFileAtomic(file, data) {
    const tmp = `${file}.${process.pid}.${++tempCounter}.tmp`;
    const handle = await fs.promises.open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, file);
    await this.fsyncDir(path.dirname(file));
  },
  openAppend: (file) =>
    new Promise((resolve, reject) => fs.open(file, 'a', (err, fd) => (err ? reject(err) : resolve(fd)))),
  write: writeAll,
  fdatasync: (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
  truncate: (file, length) => fs.promises.truncate(file, length),
  close: (fd) => new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve()))),
  rename: (from, to) => fs.promises.rename(from, to),
  unlink: (file) => fs.promises.unlink(file),
  async fsyncDir(dir) {
    const handle = await fs.promises.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};
