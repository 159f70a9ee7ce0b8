import { AllSourceError, isAllSourceError } from '@allsource/errors';
import type { NewEvent, StoredEvent } from '../events/storedEvent';
import { toNewEvent, type EventLimits } from '../events/validation';
import type { CoreMetrics, IngestErrorReason } from '../metrics/coreMetrics';
import type { EventStore } from '../storage/eventStore';

export interface IngestDeps {
  store: EventStore;
  metrics: CoreMetrics;
  limits: EventLimits;
  maxBatchEvents: number;
  /**
   * Checks payloads before anything is stored (the schema registry sets it); throws an
   * AllSourceError (VALIDATION_FAILED → 422) to reject the whole request.
   */
  payloadValidator?: (events: readonly NewEvent[]) => void;
}

function reasonOf(err: unknown): IngestErrorReason {
  if (!isAllSourceError(err)) return 'storage';
  switch (err.code) {
    case 'VERSION_CONFLICT':
      return 'conflict';
    case 'VALIDATION_FAILED':
      return 'schema';
    case 'OVERLOADED':
      return 'overload';
    case 'PAYLOAD_TOO_LARGE':
      return 'too_large';
    case 'STORAGE_UNAVAILABLE':
    case 'INTERNAL':
      return 'storage';
    default:
      return 'validation';
  }
}

/**
 * Validate and durably append events (all or nothing), recording ingestion metrics. `body` is
 * the parsed request: one event object, or a batch `{"events": [...]}`.
 */
export async function ingestEvents(deps: IngestDeps, body: unknown, mode: 'single' | 'batch'): Promise<StoredEvent[]> {
  const started = performance.now();
  try {
    const events =
      mode === 'single'
        ? [toNewEvent(body, deps.limits)]
        : batchEvents(body, deps.maxBatchEvents).map((b, i) => toNewEvent(b, deps.limits, `events[${i}]: `));
    deps.payloadValidator?.(events);
    const stored = await deps.store.append(events);
    deps.metrics.recordIngest(
      stored.map((e) => e.eventType),
      (performance.now() - started) / 1000,
    );
    return stored;
  } catch (err) {
    deps.metrics.recordIngestError(reasonOf(err));
    throw err;
  }
}

/** Reads the `events` array of a batch body, enforcing the batch bound. */
function batchEvents(body: unknown, maxBatchEvents: number): unknown[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AllSourceError('INVALID_INPUT', 'body must be an object {"events": [...]}');
  }
  const events = (body as { events?: unknown }).events;
  if (!Array.isArray(events)) throw new AllSourceError('INVALID_INPUT', '"events" must be an array');
  if (events.length === 0) throw new AllSourceError('INVALID_INPUT', '"events" must hold at least one event');
  if (events.length > maxBatchEvents) {
    throw new AllSourceError('PAYLOAD_TOO_LARGE', `a batch holds at most ${maxBatchEvents} events, got ${events.length}`);
  }
  return events;
}
