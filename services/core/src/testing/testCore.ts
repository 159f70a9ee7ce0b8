/**
 * Test helper: a real core on a random port over a fresh temporary data directory.
 *
 *   let t: TestCore;
 *   beforeAll(async () => { t = await startTestCore({ MAX_BATCH_EVENTS: '10' }); });
 *   afterAll(() => t.stop());
 *   it('ingests', async () => { await t.client.ingest({ event_type: 'a.b', entity_id: 'e1', payload: {} }); });
 *
 * or, for a core shared by the tests of a file or `describe`, started before them and stopped after:
 *
 *   const t = useTestCore({ MAX_BATCH_EVENTS: '10' });
 *
 * Settings come from the same `loadConfig(env)` the service uses, so a test sets any knob by its
 * environment variable name. Nothing is read from `process.env`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { AllSourceClient } from '@allsource/client';
import pino from 'pino';
import { startCore, type CoreInstance, type CreateCoreOptions } from '../app/createCore';
import { loadConfig } from '../config';

export interface TestCore {
  /** The running core (its `store`, `metrics`, `config`, `port` …). */
  core: CoreInstance;
  /** A typed client bound to the core; `client.raw()` for arbitrary requests. */
  client: AllSourceClient;
  /** e.g. `http://127.0.0.1:43121`. */
  baseUrl: string;
  /** The temporary data directory (removed by `stop`). */
  dataDir: string;
  /** Close the core (idempotent) and delete its data directory. */
  stop(): Promise<void>;
}

/**
 * Start a core with `DATA_DIR` = a new temp dir, `PORT=0`, `HOST=127.0.0.1`, `LOG_LEVEL=silent`,
 * plus `envOverrides` (environment variable names, see config.ts); `options.extraProjections`
 * registers code-defined projections. Always `stop()` it (afterAll).
 */
export async function startTestCore(
  envOverrides: Record<string, string> = {},
  options: Pick<CreateCoreOptions, 'extraProjections'> = {},
): Promise<TestCore> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'allsource-test-'));
  try {
    const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...envOverrides });
    const core = await startCore(config, { ...options, logger: pino({ level: 'silent' }) });
    const baseUrl = `http://${config.host}:${core.port}`;
    let stopping: Promise<void> | undefined;
    return {
      core,
      client: new AllSourceClient({ baseUrl }),
      baseUrl,
      dataDir,
      stop: () =>
        (stopping ??= (async () => {
          try {
            await core.close();
          } finally {
            await rm(dataDir, { recursive: true, force: true });
          }
        })()),
    };
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Registers jest hooks that start a core before the tests of the enclosing file or `describe`
 * (`startTestCore(envOverrides, options)`) and stop it after them. The returned handle reads
 * through to that core, so use its fields inside tests and hooks only.
 */
export function useTestCore(envOverrides: Record<string, string> = {}, options: Pick<CreateCoreOptions, 'extraProjections'> = {}): TestCore {
  let started: TestCore | undefined;
  beforeAll(async () => {
    started = await startTestCore(envOverrides, options);
  });
  afterAll(() => started?.stop());
  const current = (): TestCore => {
    if (!started) throw new Error('the test core is not running: use it inside a test or a hook');
    return started;
  };
  return {
    get core() {
      return current().core;
    },
    get client() {
      return current().client;
    },
    get baseUrl() {
      return current().baseUrl;
    },
    get dataDir() {
      return current().dataDir;
    },
    stop: () => current().stop(),
  };
}
