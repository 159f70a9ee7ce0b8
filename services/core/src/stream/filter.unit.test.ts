import type { StoredEvent } from '../events/storedEvent';
import { filterFrom, filterJson, matches, parseFilterMessage } from './filter';

const event = (entityId: string, eventType: string): StoredEvent => ({
  lsn: 1,
  id: '00000000-0000-4000-8000-000000000000',
  eventType,
  entityId,
  tenantId: 'default',
  timestampUs: 0,
  version: 1,
  payloadJson: '{}',
  metadataJson: null,
});

describe('stream filter messages', () => {
  it.each([
    ['{}', {}],
    ['{"entity_id":"e1"}', { entityId: 'e1' }],
    ['{"event_type":"user.created"}', { eventType: 'user.created' }],
    ['{"entity_id":"e1","event_type":"a.b"}', { entityId: 'e1', eventType: 'a.b' }],
    ['{"entity_id":null,"event_type":"a.b"}', { eventType: 'a.b' }],
    [' { "entity_id" : "ü-ñ" } ', { entityId: 'ü-ñ' }],
  ])('%s is a valid filter', (text, filter) => {
    expect(parseFilterMessage(text)).toEqual({ ok: true, filter });
  });

  it.each([
    ['not json', /not valid JSON/],
    ['', /not valid JSON/],
    ['{"entity_id":', /not valid JSON/],
    ['[]', /must be a JSON object/],
    ['null', /must be a JSON object/],
    ['42', /must be a JSON object/],
    ['"entity_id"', /must be a JSON object/],
    ['{"entity_id":5}', /entity_id must be a string/],
    ['{"entity_id":["a"]}', /entity_id must be a string/],
    ['{"entity_id":""}', /entity_id must be 1-128 characters/],
    ['{"entity_id":" x"}', /whitespace/],
    ['{"event_type":true}', /event_type must be a string/],
    ['{"event_type":"Bad Type"}', /event_type may hold/],
    ['{"entityId":"x"}', /unknown field 'entityId'/],
    ['{"__proto__":{"entity_id":"x"}}', /unknown field '__proto__'/],
  ])('%s is refused', (text, problem) => {
    const parsed = parseFilterMessage(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(problem);
  });

  it('matches on every field that is set', () => {
    const e = event('e1', 'a.b');
    expect(matches({}, e)).toBe(true);
    expect(matches({ entityId: 'e1' }, e)).toBe(true);
    expect(matches({ entityId: 'e2' }, e)).toBe(false);
    expect(matches({ eventType: 'a.b' }, e)).toBe(true);
    expect(matches({ eventType: 'a.c' }, e)).toBe(false);
    expect(matches({ entityId: 'e1', eventType: 'a.b' }, e)).toBe(true);
    expect(matches({ entityId: 'e1', eventType: 'a.c' }, e)).toBe(false);
  });

  it('spells the filter back in snake_case with only the fields set', () => {
    expect(filterJson({})).toEqual({});
    expect(filterJson({ entityId: 'e1', eventType: 'a.b' })).toEqual({ entity_id: 'e1', event_type: 'a.b' });
    expect(filterFrom({ event_type: 'a.b' })).toEqual({ ok: true, filter: { eventType: 'a.b' } });
  });
});
