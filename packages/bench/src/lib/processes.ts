import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Child processes and temporary directories of the suite. Every one is registered here so that
 * they are removed whatever happens: a scenario's `finally`, or `cleanupAll()` when the bench
 * exits (normally, on an error, or on SIGINT/SIGTERM).
 */
const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export const repoRoot = path.resolve(__dirname, '../../../..');
export const coreMain = path.join(repoRoot, 'services/core/dist/main.js');
export const controlPlaneMain = path.join(repoRoot, 'services/control-plane/dist/main.js');
/** Compiled scripts of this package (dist/…). */
export const distDir = path.resolve(__dirname, '..');

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `allsource-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Synchronous: kill every child still running and remove every temporary directory. */
export function cleanupAll(): void {
  for (const child of liveChildren) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  liveChildren.clear();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  name: string;
  port: number;
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** ms from spawn to the ready line. */
  readyMs: number;
  /** SIGTERM and wait for the exit (SIGKILL after `graceMs`); removes the data directory unless kept. */
  stop(graceMs?: number): Promise<void>;
  /** Send an IPC message and wait for the next answer (servers started with `ipc: true`). */
  ask<T>(message: unknown, timeoutMs?: number): Promise<T>;
}

export interface StartOptions {
  nodeArgs?: string[];
  /** Open an IPC channel (for servers/coreWithGc.js). */
  ipc?: boolean;
  /** Use this data directory (created by the caller) instead of a new temporary one. */
  dataDir?: string;
  /** Keep the data directory on stop. */
  keepDataDir?: boolean;
  /** Listen on this port (default: PORT=0, the port is read from the ready line). */
  port?: number;
  readyTimeoutMs?: number;
  /** Called with every stdout line containing one of `watch` (the rest is drained unparsed). */
  onLine?: (line: string) => void;
  watch?: string[];
}

/**
 * Start a server as a child process and wait for it to report its port: `{"listening":port}`
 * for the bench servers, a "… listening" log line with `port` for the core and control plane
 * (so their log level must include info).
 */
export async function startServer(name: string, script: string, env: Record<string, string> = {}, opts: StartOptions = {}): Promise<ServerProcess> {
  const dataDir = opts.dataDir ?? tempDir(name);
  const started = performance.now();
  // BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"): extra node flags for the
  // servers under test, to profile them under the bench's own load.
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...extra, ...(opts.nodeArgs ?? []), script], {
    env: { ...process.env, PORT: String(opts.port ?? 0), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env },
    stdio: opts.ipc ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
  });
  track(child);
  const watch = opts.watch ?? [];
  let buffered = '';
  let onReady: ((port: number) => void) | undefined;
  child.stdout!.on('data', (chunk: Buffer) => {
    // After the ready line, output is drained without being looked at (access logs under load)
    // unless the caller watches for some lines.
    if (!onReady && (!opts.onLine || watch.length === 0)) return;
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (opts.onLine && watch.some((w) => line.includes(w))) opts.onLine(line);
      if (onReady && line.includes('listening')) {
        try {
          const msg = JSON.parse(line) as { listening?: number; port?: number; msg?: string };
          const found = msg.listening ?? (typeof msg.msg === 'string' && msg.msg.endsWith('listening') ? msg.port : undefined);
          if (found !== undefined) onReady(found);
        } catch {
          // not a JSON line
        }
      }
    }
  });
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start in ${opts.readyTimeoutMs ?? 60_000} ms`)), opts.readyTimeoutMs ?? 60_000);
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code} before listening`));
      };
      child.once('exit', onExit);
      onReady = (p) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        onReady = undefined;
        resolve(p);
      };
    });
  } catch (err) {
    child.kill('SIGKILL');
    if (!opts.dataDir) removeDir(dataDir);
    throw err;
  }
  const readyMs = performance.now() - started;
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    child,
    readyMs,
    async stop(graceMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      if (!opts.keepDataDir) removeDir(dataDir);
    },
    ask<T>(message: unknown, timeoutMs = 60_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no IPC answer in ${timeoutMs} ms`)), timeoutMs);
        child.once('message', (answer) => {
          clearTimeout(timer);
          resolve(answer as T);
        });
        child.send(message as object);
      });
    },
  };
}

/** Spawn a raw child (no wait for readiness); tracked for cleanup. */
export function spawnTracked(args: string[], env: Record<string, string>, stdio: 'pipe' | 'ignore' = 'pipe'): ChildProcess {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', stdio, 'inherit'] });
  track(child);
  return child;
}

/**
 * Run a node script that prints one JSON result as the last line of its stdout, passing `input`
 * as JSON on stdin. Bounded by `timeoutMs` (then killed and rejected).
 */
export function runJsonChild<T>(script: string, input: unknown, opts: { nodeArgs?: string[]; timeoutMs: number; env?: Record<string, string> }): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), script], {
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    track(child);
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => (out += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(script)} did not finish in ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${path.basename(script)} exited with ${code ?? signal}: ${last.slice(0, 500)}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${path.basename(script)} printed no JSON result: ${last.slice(0, 500)}`));
      }
    });
    child.stdin!.end(JSON.stringify(input));
  });
}

/** Read all of stdin as JSON (for the child scripts). */
export async function readStdinJson<T>(): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * CPU time (user + system) a process has used so far, in seconds, from /proc/<pid>/stat (Linux;
 * utime and stime are fields 14 and 15, in clock ticks of 1/100 s).
 */
export function processCpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
