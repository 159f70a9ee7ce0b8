/**
 * Requests to the ingest routes whose body cannot be read (wrong content type, too large,
 * malformed JSON) are counted in allsource_ingestion_errors_total like every other rejection.
 */
import { scrapeSum } from '../../testing/metricsText';
import { useTestCore } from '../../testing/testCore';

const t = useTestCore({ MAX_BODY_BYTES: '2048' });

it('counts unreadable ingest bodies as ingestion errors by reason', async () => {
  const before = {
    validation: await scrapeSum(t, 'allsource_ingestion_errors_total', { reason: 'validation' }),
    tooLarge: await scrapeSum(t, 'allsource_ingestion_errors_total', { reason: 'too_large' }),
  };
  expect((await t.client.raw('POST', '/api/v1/events', { body: 'x', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
  expect((await t.client.raw('POST', '/api/v1/events', { body: '{"broken', headers: { 'content-type': 'application/json' } })).status).toBe(400);
  expect((await t.client.raw('POST', '/api/v1/events/batch', { body: { events: [{ payload: 'x'.repeat(4096) }] } })).status).toBe(413);
  expect(await scrapeSum(t, 'allsource_ingestion_errors_total', { reason: 'validation' })).toBe(before.validation + 2);
  expect(await scrapeSum(t, 'allsource_ingestion_errors_total', { reason: 'too_large' })).toBe(before.tooLarge + 1);
  // A readable body is counted once, by the ingest service, not again here.
  expect((await t.client.raw('POST', '/api/v1/events', { body: { event_type: 'BAD', entity_id: 'x', payload: {} } })).status).toBe(400);
  expect(await scrapeSum(t, 'allsource_ingestion_errors_total', { reason: 'validation' })).toBe(before.validation + 3);
});
