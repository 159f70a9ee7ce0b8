/**
 * Crash torture in CI: the same code as `node scripts/crash-torture.mjs --cycles N`
 * (testing/crashTorture.ts), 10 SIGKILL/restart cycles of the real service under concurrent
 * single and batch ingest, with flushes, WAL rotations, snapshots and compactions running all the
 * time and some kills aimed at them (and some restarts killed during recovery). See
 * docs/reliability.md for the long run and what each check means.
 *
 * The seed is printed; rerun a failure with `node scripts/crash-torture.mjs --seed <seed>`.
 * Needs the build (`tsc -b tsconfig.build.json`): services/core/dist/main.js.
 */
import { useSpawnedCores } from '../testing/childCore';
import { formatTortureSummary, runCrashTorture, type TortureSummary } from '../testing/crashTorture';

const tmp = useSpawnedCores('allsource-crash-torture-e2e-');

const CYCLES = 10;

describe('crash torture (SIGKILL at random and aimed moments)', () => {
  let summary: TortureSummary;

  beforeAll(async () => {
    const seed = Number(process.env.CRASH_TORTURE_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const lines: string[] = [];
    try {
      summary = await runCrashTorture({
        cycles: CYCLES,
        workDir: tmp.path,
        seed,
        // Kill within 0.1–1.2 s of load; a bound on the whole run, whatever happens.
        maxRunMs: 1200,
        deadlineMs: 240_000,
        log: (line) => lines.push(line),
      });
    } finally {
      if (!summary?.ok) process.stderr.write(`crash torture seed ${seed}:\n${lines.join('\n')}\n`);
    }
    process.stdout.write(`${formatTortureSummary(summary)}\n`);
  }, 300_000);

  it('runs every cycle and acknowledges events in them', () => {
    expect(summary.cycles).toBe(CYCLES);
    expect(summary.acknowledged).toBeGreaterThan(0);
    expect(summary.killMoments.walSeveralFiles).toBeGreaterThan(0);
  });

  it('keeps every acknowledged event exactly once, identical, with its version (lost = duplicated = corrupted = 0)', () => {
    expect({ lost: summary.lost, duplicated: summary.duplicated, corrupted: summary.corrupted, seed: summary.seed }).toEqual({
      lost: 0,
      duplicated: 0,
      corrupted: 0,
      seed: summary.seed,
    });
    expect(summary.acknowledgedChecked).toBe(summary.acknowledged);
  });

  it('never stores a refused or never-sent event, a part of a batch, a version gap, nor changes what was there', () => {
    expect({
      unexpected: summary.unexpected,
      partialBatches: summary.partialBatches,
      versionGaps: summary.versionGaps,
      unstable: summary.unstable,
      inconsistent: summary.inconsistent,
      loadErrors: summary.loadErrors,
      problems: summary.problems.slice(0, 10),
    }).toEqual({ unexpected: 0, partialBatches: 0, versionGaps: 0, unstable: 0, inconsistent: 0, loadErrors: 0, problems: [] });
    expect(summary.ok).toBe(true);
  });
});
