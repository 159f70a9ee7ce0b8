/**
 * /metrics through a real `promtool check metrics` (Debian's prometheus package, installed by
 * `npm test`). Any finding other than the seed names kept on purpose fails the test.
 */
import { spawnSync } from 'node:child_process';
import { ACCEPTED_PROMTOOL_FINDINGS } from '@allsource/metrics-catalog';
import { startTestCore, type TestCore } from '../testing/testCore';

let t: TestCore;

beforeAll(async () => {
  t = await startTestCore();
  await t.client.ingest({ event_type: 'user.created', entity_id: 'u-1', payload: { name: 'Ada' } });
  await t.client.ingestBatch([
    { event_type: 'user.updated', entity_id: 'u-1', payload: { age: 36 } },
    { event_type: 'order.placed', entity_id: 'o-1', payload: { total: 12 } },
  ]);
  await t.client.raw('POST', '/api/v1/events', { body: '{"broken', headers: { 'content-type': 'application/json' } });
  await t.client.queryEvents({ entity_id: 'u-1' });
  await t.client.queryEvents({ event_type: 'order.placed' });
  await t.client.entityState('u-1');
  await t.client.raw('GET', '/no/such/route');
  await t.core.store.flush();
});

afterAll(async () => {
  await t?.stop();
});

it('promtool finds nothing in /metrics but the seed names kept on purpose', async () => {
  const res = await t.client.raw('GET', '/metrics');
  expect(res.status).toBe(200);
  const check = spawnSync('promtool', ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
  if (check.error) throw new Error(`promtool could not run (${check.error.message}); npm test installs Debian's prometheus package`);
  const findings = `${check.stdout}${check.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const accepted = new Set(ACCEPTED_PROMTOOL_FINDINGS.map((f) => `${f.metric} ${f.finding}`));
  const unexpected = findings.filter((f) => !accepted.has(f));
  expect(unexpected).toEqual([]);
  // It did look: the seed names it must flag are there.
  expect(findings).toContain('allsource_events_ingested_by_type counter metrics should have "_total" suffix');
  // Exit status: 0 when clean, 3 for lint findings only; anything else is a parse failure.
  expect([0, 3]).toContain(check.status);
});
