import { AllSourceError } from '@allsource/errors';
import { DEFAULT_REPLAY_PROJECTION, parseReplayRequest } from './replayRequest';

const limits = { defaultBatchSize: 1000, maxBatchSize: 5000 };

function invalid(body: unknown): string {
  try {
    parseReplayRequest(body, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(AllSourceError);
    expect((err as AllSourceError).code).toBe('INVALID_INPUT');
    expect((err as AllSourceError).status).toBe(400);
    return (err as AllSourceError).message;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
}

describe('parseReplayRequest', () => {
  it('defaults: entity_snapshots, no filter, the configured batch size', () => {
    for (const body of [undefined, null, {}]) {
      expect(parseReplayRequest(body, limits)).toEqual({
        projectionName: DEFAULT_REPLAY_PROJECTION,
        filter: { entityId: undefined, eventType: undefined, sinceUs: undefined, untilUs: undefined },
        batchSize: 1000,
      });
    }
    expect(DEFAULT_REPLAY_PROJECTION).toBe('entity_snapshots');
    expect(parseReplayRequest({}, { defaultBatchSize: 9000, maxBatchSize: 100 }).batchSize).toBe(100);
  });

  it('reads every field; null means not given', () => {
    expect(
      parseReplayRequest(
        {
          projection_name: 'event_counters',
          from_timestamp: '2026-01-02T03:04:05Z',
          to_timestamp: '2026-01-02T03:04:05.123456Z',
          entity_id: 'user-1',
          event_type: 'user.created',
          config: { batch_size: 50 },
          unknown_field: true,
        },
        limits,
      ),
    ).toEqual({
      projectionName: 'event_counters',
      filter: { entityId: 'user-1', eventType: 'user.created', sinceUs: Date.UTC(2026, 0, 2, 3, 4, 5) * 1000, untilUs: Date.UTC(2026, 0, 2, 3, 4, 5) * 1000 + 123456 },
      batchSize: 50,
    });
    expect(parseReplayRequest({ projection_name: null, entity_id: null, config: { batch_size: null } }, limits)).toMatchObject({
      projectionName: 'entity_snapshots',
      batchSize: 1000,
    });
  });

  it('refuses bad input with 400 naming the field', () => {
    expect(invalid([])).toMatch(/JSON object/);
    expect(invalid('x')).toMatch(/JSON object/);
    expect(invalid({ from_timestamp: 'yesterday' })).toMatch(/from_timestamp must be an RFC 3339/);
    expect(invalid({ to_timestamp: '2026-02-30T00:00:00Z' })).toMatch(/to_timestamp/);
    expect(invalid({ to_timestamp: 12 })).toMatch(/to_timestamp/);
    expect(invalid({ from_timestamp: '2026-01-02T00:00:00Z', to_timestamp: '2026-01-01T00:00:00Z' })).toMatch(/not be after/);
    expect(invalid({ entity_id: '' })).toMatch(/entity_id/);
    expect(invalid({ event_type: 5 })).toMatch(/event_type/);
    expect(invalid({ projection_name: {} })).toMatch(/projection_name/);
    // The rules of events' own fields, so no replay record holds a string the store would refuse.
    expect(invalid({ entity_id: 'x'.repeat(129) })).toMatch(/entity_id must be 1-128 characters/);
    expect(invalid({ entity_id: 'a\u0000b' })).toMatch(/control characters/);
    expect(invalid({ event_type: 'Not.Valid' })).toMatch(/event_type may hold lowercase letters/);
    expect(invalid({ projection_name: 'p'.repeat(129) })).toMatch(/projection_name must be 1-128 characters/);
    expect(invalid({ config: 3 })).toMatch(/config must be an object/);
    expect(invalid({ config: { batch_size: 0 } })).toMatch(/batch_size/);
    expect(invalid({ config: { batch_size: 5001 } })).toMatch(/between 1 and 5000/);
    expect(invalid({ config: { batch_size: 1.5 } })).toMatch(/batch_size/);
    expect(invalid({ config: { batch_size: '10' } })).toMatch(/batch_size/);
  });
});
