/**
 * Test helper: the real service as a child process (`node services/core/dist/main.js`, so the
 * build must have run), for tests that kill it, signal it or restart it on the same data.
 *
 *   const tmp = useSpawnedCores('allsource-crash-e2e-');   // build checked, temp dir, cleanup
 *   const child = await spawnCore(tmp.path, { FLUSH_MAX_EVENTS: '500' });
 *   child.kill('SIGKILL');
 *   expect((await child.exited).signal).toBe('SIGKILL');
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { AllSourceClient } from '@allsource/client';
import { useTempDir } from './tempDirs';
import { sleep } from './wait';

/** The built entry point of the service. */
export const CORE_MAIN_JS = path.resolve(__dirname, '../../dist/main.js');

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CoreChild {
  proc: ChildProcess;
  port: number;
  /** A client bound to the child's port. */
  client: AllSourceClient;
  /** The last 20,000 characters the child wrote to stdout and stderr. */
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<ChildExit>;
  /** Sends `signal` (SIGTERM by default). */
  kill(signal?: NodeJS.Signals): void;
}

export interface SpawnCoreOptions {
  /** Timeout of each request of `client` (ms). */
  clientTimeoutMs?: number;
  /** How long start-up may take until /health answers 200 (ms). */
  healthTimeoutMs?: number;
}

/** Every child spawned by this test file, for `killSpawnedCores`. */
const spawned = new Set<ChildProcess>();

/** Throws a readable error when the service has not been built. */
export function assertCoreBuilt(): void {
  if (!existsSync(CORE_MAIN_JS)) throw new Error(`${CORE_MAIN_JS} is missing: build first (npx tsc -b tsconfig.build.json)`);
}

/** A free loopback port (bound and released; the caller binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the service on a free port over `dataDir` (`LOG_LEVEL=warn`, no request logs; `env`
 * uses the service's variable names and wins) and resolves once /health answers 200.
 */
export async function spawnCore(dataDir: string, env: Record<string, string> = {}, options: SpawnCoreOptions = {}): Promise<CoreChild> {
  const port = await freePort();
  const proc = spawn(process.execPath, [CORE_MAIN_JS], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', LOG_REQUESTS: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(proc);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<ChildExit>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const child: CoreChild = {
    proc,
    port,
    client: new AllSourceClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: options.clientTimeoutMs ?? 5000 }),
    output: () => output,
    exited,
    kill: (signal = 'SIGTERM') => void proc.kill(signal),
  };
  await waitForHealth(child, options.healthTimeoutMs);
  return child;
}

/** Polls GET /health until 200; if the child exits first or `timeoutMs` passes (it is then killed), throws with its output. */
export async function waitForHealth(child: CoreChild, timeoutMs = 30_000): Promise<void> {
  const { proc } = child;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`core exited during start-up (code ${proc.exitCode}, signal ${proc.signalCode}):\n${child.output()}`);
    }
    const health = await child.client.raw('GET', '/health', { timeoutMs: 1000 }).catch(() => undefined);
    if (health?.status === 200) return;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`core did not become healthy within ${Math.round(timeoutMs / 1000)} s:\n${child.output()}`);
    }
    await sleep(50);
  }
}

/** Resolves with the exit, or with `undefined` if the process is still running after `ms`. */
export async function exitWithin(child: CoreChild, ms: number): Promise<ChildExit | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([child.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGKILLs every child `spawnCore` started that is still running and waits for them to exit (afterAll). */
export async function killSpawnedCores(): Promise<void> {
  const alive = [...spawned].filter((proc) => proc.exitCode === null && proc.signalCode === null);
  for (const proc of alive) proc.kill('SIGKILL');
  await Promise.all(alive.map((proc) => new Promise((resolve) => proc.once('exit', resolve))));
}

/**
 * Registers jest hooks for a file whose tests spawn the service: before them, `assertCoreBuilt`
 * and a temp directory (`path`, for the children's data); after them, `killSpawnedCores` and the
 * directory removed.
 */
export function useSpawnedCores(prefix: string): { readonly path: string } {
  beforeAll(() => assertCoreBuilt());
  // Declared before the directory's hooks, so jest runs it first: no child writes into a removed directory.
  afterAll(() => killSpawnedCores());
  return useTempDir(prefix);
}
