/**
 * Test harness: real core processes (`node services/core/dist/main.js`, built before jest by
 * `npm test`), control planes in-process or as processes, tiny fake nodes, bounded polling,
 * temporary directories.
 *
 *   const [core1, core2] = await startCorePair();
 *   const t = await startTestControlPlane({ CORE_NODES: coreNodes(core1, core2) });
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { AllSourceClient } from '@allsource/client';
import pino from 'pino';
import { startControlPlane, type ControlPlaneInstance } from '../app/createControlPlane';
import { loadConfig } from '../config';

export const REPO_ROOT = path.resolve(__dirname, '../../../..');
export const CORE_MAIN = path.join(REPO_ROOT, 'services/core/dist/main.js');
export const CONTROL_PLANE_MAIN = path.join(REPO_ROOT, 'services/control-plane/dist/main.js');

/** A free loopback port (bound and released; the caller binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A new empty directory `<tmpdir>/<prefix>XXXXXX`. */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Deletes `dir` and everything in it; nothing happens when it is missing or `undefined` (a failed set-up). */
export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined/false; fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 0; attempt < Math.ceil(timeoutMs / intervalMs) + 1; attempt++) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
}

/**
 * A built service (`node <main>`) as a child process on a fixed port and data directory,
 * restartable: `launch` (re)starts it and resolves once `/health` answers 200.
 */
export class ServiceProcess {
  child: ChildProcess | undefined;
  stderr = '';
  readonly client: AllSourceClient;

  constructor(
    private readonly main: string,
    private readonly name: string,
    readonly port: number,
    readonly dataDir: string,
    private readonly env: Record<string, string>,
  ) {
    this.client = new AllSourceClient({ baseUrl: this.url, timeoutMs: 10_000 });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the process on the same port and data directory; resolves once /health is 200. */
  async launch(): Promise<void> {
    this.stderr = '';
    const child = spawn(process.execPath, [this.main], {
      env: { ...process.env, ...this.env, DATA_DIR: this.dataDir, PORT: String(this.port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (this.stderr.length < 20_000) this.stderr += d.toString();
    });
    this.child = child;
    await waitFor(`${this.name} on port ${this.port} (${this.main})`, async () => {
      if (child.exitCode !== null) throw new Error(`${this.name} exited with ${child.exitCode}: ${this.stderr}`);
      const res = await this.client.raw('GET', '/health', { timeoutMs: 1000 });
      return res.status === 200;
    });
  }

  /** SIGTERM and wait for the exit (SIGKILL after 15 s). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A real core process on a free port over its own temporary data directory. */
export class CoreProcess extends ServiceProcess {
  private constructor(port: number, dataDir: string, env: Record<string, string>) {
    super(CORE_MAIN, 'core', port, dataDir, env);
  }

  static async start(env: Record<string, string> = {}): Promise<CoreProcess> {
    const dataDir = await makeTempDir('cp-core-');
    const core = new CoreProcess(await freePort(), dataDir, env);
    await core.launch();
    return core;
  }

  async destroy(): Promise<void> {
    await this.stop();
    await removeDir(this.dataDir);
  }
}

/** Two core processes started side by side (see `CoreProcess.start`), each over its own data. */
export function startCorePair(env: Record<string, string> = {}): Promise<[CoreProcess, CoreProcess]> {
  return Promise.all([CoreProcess.start(env), CoreProcess.start(env)]);
}

/** The `CORE_NODES` setting naming `cores` `core-1`, `core-2`, … in the order given. */
export function coreNodes(...cores: Array<{ url: string }>): string {
  return cores.map((core, i) => `core-${i + 1}=${core.url}`).join(',');
}

export interface TestControlPlane {
  cp: ControlPlaneInstance;
  client: AllSourceClient;
  baseUrl: string;
  dataDir: string;
  /** Close (idempotent); the data directory is kept unless `removeData`. */
  stop(removeData?: boolean): Promise<void>;
}

/** An in-process control plane on a free port; `env` uses the service's variable names. */
export async function startTestControlPlane(env: Record<string, string>, dataDir?: string): Promise<TestControlPlane> {
  const dir = dataDir ?? (await makeTempDir('cp-data-'));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATA_DIR: dir, ...env });
  const cp = await startControlPlane(config, { logger: pino({ level: 'silent' }) });
  const baseUrl = `http://127.0.0.1:${cp.port}`;
  let closing: Promise<void> | undefined;
  return {
    cp,
    client: new AllSourceClient({ baseUrl, timeoutMs: 10_000 }),
    baseUrl,
    dataDir: dir,
    stop: async (removeData = false) => {
      await (closing ??= cp.close());
      if (removeData) await removeDir(dir);
    },
  };
}

/** Two real cores and an in-process control plane scraping them as `core-1` and `core-2`. */
export interface TestCluster {
  core1: CoreProcess;
  core2: CoreProcess;
  t: TestControlPlane;
  /** Stops the control plane (removing its data) and destroys both cores. */
  stop(): Promise<void>;
}

/** `startCorePair`, then `startTestControlPlane({ CORE_NODES: core-1 and core-2, ...env })`. */
export async function startTestCluster(env: Record<string, string>): Promise<TestCluster> {
  const [core1, core2] = await startCorePair();
  const destroyCores = () => Promise.all([core1.destroy(), core2.destroy()]).then(() => undefined);
  let t: TestControlPlane;
  try {
    t = await startTestControlPlane({ CORE_NODES: coreNodes(core1, core2), ...env });
  } catch (err) {
    await destroyCores();
    throw err;
  }
  return {
    core1,
    core2,
    t,
    stop: async () => {
      await t.stop(true);
      await destroyCores();
    },
  };
}

/** A tiny HTTP server playing a broken core node. */
export async function startFakeNode(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Events for a batch ingest. */
export function events(entityId: string, n: number, type = 'test.event'): Array<{ event_type: string; entity_id: string; payload: { i: number } }> {
  return Array.from({ length: n }, (_, i) => ({ event_type: type, entity_id: entityId, payload: { i } }));
}
