/**
 * Test helpers of the reliability tests (corrupt files, disk faults, hostile input):
 *
 *   const c = await startCoreOn(dataDir, { FLUSH_MAX_EVENTS: '10' }, { fs: faulty });  // restartable
 *   faulty.fail('fdatasync', 'EIO');  …  faulty.heal();
 *   expect(c.logs.some((l) => l.msg.includes('torn tail'))).toBe(true);
 *   await c.stop();                                                       // data stays
 *
 * Unlike `startTestCore`, the data directory is the caller's and survives `stop()`, the
 * FileSystem seam can be replaced, and the log lines are kept for assertions.
 */
import { Writable } from 'node:stream';
import { AllSourceClient } from '@allsource/client';
import pino from 'pino';
import { startCore, type CoreInstance } from '../app/createCore';
import { loadConfig } from '../config';
import { nodeFileSystem, type FileSystem } from '../storage/fs/fileSystem';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface CoreOnDir {
  core: CoreInstance;
  client: AllSourceClient;
  baseUrl: string;
  /** Every log line the core wrote (parsed JSON), oldest first (at most the last 5,000). */
  logs: LogLine[];
  /** Close the core (idempotent); the data directory stays. */
  stop(): Promise<void>;
}

/**
 * Start a core in this process over `dataDir` (`PORT=0`, `HOST=127.0.0.1`, `LOG_LEVEL=info`,
 * `LOG_REQUESTS=false`, plus `env`), optionally through `options.fs`.
 */
export async function startCoreOn(dataDir: string, env: Record<string, string> = {}, options: { fs?: FileSystem } = {}): Promise<CoreOnDir> {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        try {
          logs.push(JSON.parse(line) as LogLine);
        } catch {
          logs.push({ level: 0, msg: line });
        }
        if (logs.length > 5000) logs.splice(0, logs.length - 5000);
      }
      done();
    },
  });
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', LOG_REQUESTS: 'false', ...env });
  const logger = pino({ level: config.logLevel }, sink);
  const core = await startCore(config, { logger, ...(options.fs ? { fs: options.fs } : {}) });
  const baseUrl = `http://127.0.0.1:${core.port}`;
  let stopping: Promise<void> | undefined;
  return {
    core,
    client: new AllSourceClient({ baseUrl, timeoutMs: 30_000 }),
    baseUrl,
    logs,
    stop: () => (stopping ??= core.close()),
  };
}

export type FaultOp = 'write' | 'fdatasync' | 'writeFileAtomic' | 'openAppend' | 'fsyncDir' | 'rename' | 'truncate';
export type FaultCode = 'ENOSPC' | 'EIO';

const MESSAGES: Record<FaultCode, { errno: number; text: string }> = {
  ENOSPC: { errno: -28, text: 'no space left on device' },
  EIO: { errno: -5, text: 'i/o error' },
};

/** An error shaped like Node's own for a failed system call. */
export function fsError(code: FaultCode, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${MESSAGES[code].text}, ${syscall}`), { code, errno: MESSAGES[code].errno, syscall });
}

/**
 * The real file system with switchable faults: while `fail(op, code)` is in force, every call of
 * `op` throws `code` (after doing nothing). `filter` narrows it to some paths (e.g. segment files
 * only); for fd-based calls (`write`, `fdatasync`) the path is the one `openAppend` opened.
 */
export class FaultyFileSystem implements FileSystem {
  private readonly faults = new Map<FaultOp, { code: FaultCode; filter: (file: string) => boolean }>();
  private readonly fdPaths = new Map<number, string>();
  /** Calls that failed because of an injected fault, per operation. */
  readonly injected: Record<string, number> = {};

  constructor(private readonly real: FileSystem = nodeFileSystem) {}

  fail(op: FaultOp, code: FaultCode, filter: (file: string) => boolean = () => true): void {
    this.faults.set(op, { code, filter });
  }

  heal(op?: FaultOp): void {
    if (op) this.faults.delete(op);
    else this.faults.clear();
  }

  private check(op: FaultOp, file: string): void {
    const fault = this.faults.get(op);
    if (fault && fault.filter(file)) {
      this.injected[op] = (this.injected[op] ?? 0) + 1;
      throw fsError(fault.code, op);
    }
  }

  mkdirp(dir: string): Promise<void> {
    return this.real.mkdirp(dir);
  }
  readdir(dir: string): Promise<string[]> {
    return this.real.readdir(dir);
  }
  exists(file: string): Promise<boolean> {
    return this.real.exists(file);
  }
  size(file: string): Promise<number> {
    return this.real.size(file);
  }
  readFile(file: string): Promise<Buffer> {
    return this.real.readFile(file);
  }
  async writeFileAtomic(file: string, data: Uint8Array): Promise<void> {
    this.check('writeFileAtomic', file);
    return this.real.writeFileAtomic(file, data);
  }
  async openAppend(file: string): Promise<number> {
    this.check('openAppend', file);
    const fd = await this.real.openAppend(file);
    this.fdPaths.set(fd, file);
    return fd;
  }
  async write(fd: number, data: Uint8Array): Promise<void> {
    this.check('write', this.fdPaths.get(fd) ?? '');
    return this.real.write(fd, data);
  }
  async fdatasync(fd: number): Promise<void> {
    this.check('fdatasync', this.fdPaths.get(fd) ?? '');
    return this.real.fdatasync(fd);
  }
  async truncate(file: string, length: number): Promise<void> {
    this.check('truncate', file);
    return this.real.truncate(file, length);
  }
  async close(fd: number): Promise<void> {
    this.fdPaths.delete(fd);
    return this.real.close(fd);
  }
  async rename(from: string, to: string): Promise<void> {
    this.check('rename', to);
    return this.real.rename(from, to);
  }
  unlink(file: string): Promise<void> {
    return this.real.unlink(file);
  }
  async fsyncDir(dir: string): Promise<void> {
    this.check('fsyncDir', dir);
    return this.real.fsyncDir(dir);
  }
}
