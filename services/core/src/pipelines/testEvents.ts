/** Test helpers (used by the pipelines' unit tests only): stored events with chosen timestamps. */
import type { StoredEvent } from '../events/storedEvent';
import { Pipeline, type PipelineOptions } from './pipeline';
import { PipelineEvent } from './pipelineEvent';
import { validatePipelineConfig } from './validateConfig';

let nextLsn = 1;

export interface TestEventOptions {
  /** RFC 3339 time of the event (default 2026-01-01T00:00:00Z). */
  at?: string;
  entity?: string;
  version?: number;
  metadata?: unknown;
}

export function storedEvent(eventType: string, payload: unknown, opts: TestEventOptions = {}): StoredEvent {
  const lsn = nextLsn++;
  return {
    lsn,
    id: `00000000-0000-4000-8000-${String(lsn).padStart(12, '0')}`,
    eventType,
    entityId: opts.entity ?? 'e1',
    tenantId: 'default',
    timestampUs: Date.parse(opts.at ?? '2026-01-01T00:00:00Z') * 1000,
    version: opts.version ?? 1,
    payloadJson: JSON.stringify(payload),
    metadataJson: opts.metadata === undefined ? null : JSON.stringify(opts.metadata),
  };
}

export const TEST_PIPELINE_OPTIONS: PipelineOptions = {
  maxGroups: 1000,
  maxClosedWindows: 100,
  windowLatenessUs: 0,
  recentOutputs: 10,
};

/** A pipeline from a config body (validated like a request), with test options. */
export function testPipeline(body: Record<string, unknown>, opts: Partial<PipelineOptions> = {}): Pipeline {
  const config = validatePipelineConfig({ name: 'test', source_event_types: [], operators: [], ...body }, { maxOperators: 100 });
  return new Pipeline(config, { ...TEST_PIPELINE_OPTIONS, ...opts });
}

export function feed(pipeline: Pipeline, events: readonly StoredEvent[]) {
  return pipeline.process(events.map((e) => new PipelineEvent(e)));
}
