import { AllSourceError } from '@allsource/errors';
import { jsonBody } from '@allsource/service-kit';
import type { Express, NextFunction, Request, Response } from 'express';
import { formatTimestamp } from '../../events/timestamps';
import { ingestEvents } from '../../ingest/ingestEvents';
import { queryTypeOf, selectPositions, type EventQuery } from '../../query/eventQuery';
import { JsonOutput } from '../../query/jsonOutput';
import { eventJson, EventsJsonWriter } from '../../query/serialize';
import type { HttpContext } from '../context';
import { sendJsonOutput, sendJsonText } from '../jsonAnswer';
import { optionalEnum, optionalInt, optionalString, optionalTimestamp } from '../params';

/** Room kept for what follows the events (`],"count":N,"truncated":true,"next_offset":N}`). */
const ANSWER_TAIL_BYTES = 128;
/** Events visited at a time for a query answer (it stops between chunks once full). */
const ANSWER_CHUNK = 256;
/** First guess of an event's size in a query answer (a few hundred bytes with a small payload). */
const ANSWER_BYTES_PER_EVENT = 320;

export function eventRoutes(app: Express, ctx: HttpContext): void {
  const body = jsonBody(ctx.config.maxBodyBytes);
  // Runs only when the body could not be read (wrong type, too large, malformed): those are
  // ingestion errors too. Errors after the body parsed are counted by ingestEvents.
  const countBodyErrors = (err: unknown, _req: Request, _res: Response, next: NextFunction): void => {
    const code = (err as { code?: string }).code;
    ctx.metrics.recordIngestError(code === 'PAYLOAD_TOO_LARGE' ? 'too_large' : 'validation');
    next(err);
  };

  app.post('/api/v1/events', body, countBodyErrors, async (req: Request, res: Response) => {
    const [e] = await ingestEvents(ctx.ingest, req.body, 'single');
    sendJsonText(res, `{"event_id":"${e!.id}","timestamp":"${formatTimestamp(e!.timestampUs)}","version":${e!.version}}`);
  });

  app.post('/api/v1/events/batch', body, countBodyErrors, async (req: Request, res: Response) => {
    const stored = await ingestEvents(ctx.ingest, req.body, 'batch');
    let out = `{"total":${stored.length},"ingested":${stored.length},"events":[`;
    for (let i = 0; i < stored.length; i++) {
      const e = stored[i]!;
      if (i > 0) out += ',';
      out += `{"event_id":"${e.id}","timestamp":"${formatTimestamp(e.timestampUs)}","version":${e.version}}`;
    }
    sendJsonText(res, out + ']}');
  });

  app.get('/api/v1/events/query', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const until = optionalTimestamp(q, 'until');
    const asOf = optionalTimestamp(q, 'as_of');
    const query: EventQuery = {
      entityId: optionalString(q, 'entity_id'),
      eventType: optionalString(q, 'event_type'),
      tenantId: optionalString(q, 'tenant_id'),
      sinceUs: optionalTimestamp(q, 'since'),
      // as_of means "until"; when both are given the earlier bound wins.
      untilUs: until === undefined ? asOf : asOf === undefined ? until : Math.min(until, asOf),
      limit: optionalInt(q, 'limit', 0, ctx.config.maxQueryLimit) ?? ctx.config.maxQueryLimit,
      offset: optionalInt(q, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0,
      order: optionalEnum(q, 'order', ['asc', 'desc'] as const) ?? 'asc',
    };
    if (query.sinceUs !== undefined && query.untilUs !== undefined && query.sinceUs > query.untilUs) {
      throw new AllSourceError('INVALID_QUERY', 'since must not be after until');
    }
    const started = performance.now();
    // Written as bytes straight from the segment cache (see EventsJsonWriter), into one buffer
    // sized for the usual event up front: growing it by doubling cost two more allocations and
    // copies of the answer, and their memory outside the heap brought on full collections.
    const positions = selectPositions(ctx.store.index, query);
    const out = new JsonOutput(64 + Math.min(positions.length * ANSWER_BYTES_PER_EVENT, ctx.config.maxAnswerBytes));
    out.ascii('{"events":[');
    // The answer stops at MAX_ANSWER_BYTES (limit × MAX_EVENT_BYTES could be gigabytes): visited
    // a chunk at a time, the writer skipping what no longer fits.
    const events = new EventsJsonWriter(ctx.store.index, out, ctx.config.maxAnswerBytes - ANSWER_TAIL_BYTES);
    for (let start = 0; start < positions.length && !events.full; start += ANSWER_CHUNK) {
      await ctx.store.visitPositions(positions.slice(start, start + ANSWER_CHUNK), events);
    }
    const more = events.count < positions.length ? `,"truncated":true,"next_offset":${query.offset + events.count}` : '';
    out.ascii(`],"count":${events.count}${more}}`);
    ctx.metrics.recordQuery(queryTypeOf(query), (performance.now() - started) / 1000, events.count);
    sendJsonOutput(res, out);
  });

  // The live stream is a WebSocket (stream/eventStream.ts handles the upgrade); a plain GET
  // gets told so instead of being taken for an event id.
  app.get('/api/v1/events/stream', (_req, res) => {
    res.setHeader('Upgrade', 'websocket');
    throw new AllSourceError('UPGRADE_REQUIRED', 'this endpoint is a WebSocket: connect with Upgrade: websocket');
  });

  app.get('/api/v1/events/:event_id', async (req, res) => {
    const id = req.params.event_id;
    const event = await ctx.store.getById(id);
    if (!event) throw new AllSourceError('EVENT_NOT_FOUND', `no event with id '${id}'`);
    sendJsonText(res, eventJson(event));
  });
}
