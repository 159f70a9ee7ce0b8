/**
 * Series stay bounded: thousands of distinct event types, schema subjects, pipeline names and
 * unknown URLs must not grow /metrics past the budget computed from the label caps.
 */
import type { Express } from 'express';
import { startTestCore, type TestCore } from '../testing/testCore';
import { seriesBudget } from './seriesBudget';

const EVENT_TYPE_CAP = 50;
const LABEL_CAP = 20;
let t: TestCore;

beforeAll(async () => {
  t = await startTestCore({
    EVENT_TYPE_LABEL_LIMIT: String(EVENT_TYPE_CAP),
    LABEL_VALUE_LIMIT: String(LABEL_CAP),
    PIPELINE_MAX: '400',
    FLUSH_MAX_AGE_MS: '3600000',
  });
});

afterAll(async () => {
  await t?.stop();
});

function seriesLines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#'));
}

it('stays under the documented series budget whatever label values clients send', async () => {
  const DISTINCT_TYPES = 2000;
  for (let start = 0; start < DISTINCT_TYPES; start += 500) {
    const events = Array.from({ length: 500 }, (_, i) => ({
      event_type: `type_${start + i}.happened`,
      entity_id: `entity-${start + i}`,
      tenant_id: `tenant-${(start + i) % 97}`,
      payload: { n: start + i },
    }));
    await t.client.ingestBatch(events);
  }
  for (let i = 0; i < 300; i++) {
    await t.client.schemas.register({ subject: `subject_${i}.seen`, schema: { type: 'object' } });
    await t.client.schemas.validate({ subject: `subject_${i}.seen`, payload: i % 2 ? {} : 1 });
  }
  for (let i = 0; i < 300; i++) {
    await t.client.pipelines.create({
      name: `pipeline number ${i}`,
      source_event_types: [],
      operators: [{ type: 'filter', field: 'n', op: 'gt', value: -1 }],
      enabled: true,
    });
  }
  await t.client.ingest({ event_type: 'after.pipelines', entity_id: 'x', payload: { n: 1 } });
  for (let i = 0; i < 2000; i++) {
    const res = await t.client.raw('GET', `/no/such/${i}/path-${Math.random().toString(36).slice(2)}`);
    expect(res.status).toBe(404);
  }
  for (let i = 0; i < 200; i++) {
    expect((await t.client.raw('PATCH', `/api/v1/events/${i}`)).status).toBe(404);
  }

  const text = (await t.client.raw('GET', '/metrics')).text;
  const lines = seriesLines(text);
  const app = t.core.server.listeners('request').find((l) => 'router' in l) as unknown as Express & {
    router: { stack: Array<{ route?: unknown }> };
  };
  const routes = app.router.stack.filter((layer) => layer.route).length;
  expect(routes).toBeGreaterThan(20);
  const budget = seriesBudget({ eventTypeLabelLimit: EVENT_TYPE_CAP, labelValueLimit: LABEL_CAP, routes });
  expect(lines.length).toBeLessThanOrEqual(budget.total);

  // The caps folded what was sent: one series per capped value plus __other__.
  const byType = lines.filter((l) => l.startsWith('allsource_events_ingested_by_type{'));
  expect(byType.length).toBe(EVENT_TYPE_CAP + 1);
  expect(byType.some((l) => l.includes('event_type="__other__"'))).toBe(true);
  const subjects = new Set(lines.filter((l) => l.startsWith('allsource_schema_validations_total{')).map((l) => /subject="([^"]*)"/.exec(l)?.[1]));
  expect(subjects.size).toBeLessThanOrEqual(LABEL_CAP + 1);
  const pipelines = new Set(lines.filter((l) => l.startsWith('allsource_pipeline_events_processed{')).map((l) => /pipeline_name="([^"]*)"/.exec(l)?.[1]));
  expect(pipelines.size).toBeLessThanOrEqual(LABEL_CAP + 1);
  // Unknown URLs are one endpoint, never their raw paths.
  expect(lines.some((l) => l.includes('/no/such/'))).toBe(false);
  expect(lines.some((l) => l.startsWith('allsource_http_requests_total{') && l.includes('endpoint="unmatched"'))).toBe(true);
  const folded = lines.find((l) => l.startsWith('allsource_metric_label_values_folded_total{label="event_type"}'));
  expect(Number(folded?.split(' ')[1])).toBeGreaterThanOrEqual(DISTINCT_TYPES - EVENT_TYPE_CAP);
});
