import { thrownError } from '../testing/errors';
import { entityIdProblem, eventTypeProblem, tenantIdProblem, toNewEvent, type EventLimits } from './validation';

const limits: EventLimits = { maxEventBytes: 1000 };

const valid = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  event_type: 'user.created',
  entity_id: 'user-1',
  payload: { name: 'Ada' },
  ...overrides,
});

function rejects(body: unknown, message: RegExp | string, where = ''): void {
  const err = thrownError(() => toNewEvent(body, limits, where));
  expect(err.code).toBe('INVALID_EVENT');
  expect(err.status).toBe(400);
  if (typeof message === 'string') expect(err.message).toBe(`${where}${message}`);
  else expect(err.message).toMatch(message);
  expect(err.toBody()).toEqual({ error: `Invalid event: ${err.message}`, code: 'INVALID_EVENT' });
}

describe('eventTypeProblem', () => {
  it.each(['a', 'user.created', 'user_account.created_v2', 'a.b.c.d', '0', '_', '9.9', 'a'.repeat(128), `${'a.'.repeat(63)}ab`])(
    'accepts %j',
    (value) => {
      expect(eventTypeProblem(value)).toBeUndefined();
    },
  );

  it.each([
    ['', 'event_type must be 1-128 characters'],
    ['a'.repeat(129), 'event_type must be 1-128 characters'],
    ['.user', /no leading, trailing or double dot/],
    ['user.', /no leading, trailing or double dot/],
    ['user..created', /no leading, trailing or double dot/],
    ['.', /no leading, trailing or double dot/],
    ['User.Created', /lowercase letters/],
    ['user-created', /lowercase letters/],
    ['user created', /lowercase letters/],
    [' user', /lowercase letters/],
    ['user\n', /lowercase letters/],
    ['usér', /lowercase letters/],
    ['user/created', /lowercase letters/],
  ])('rejects %j', (value, message) => {
    const problem = eventTypeProblem(value);
    expect(problem).toBeDefined();
    if (typeof message === 'string') expect(problem).toBe(message);
    else expect(problem).toMatch(message);
  });

  it.each([undefined, null, 1, true, {}, ['a'], Symbol.iterator])('rejects the non-string %p', (value) => {
    expect(eventTypeProblem(value)).toBe('event_type must be a string');
  });
});

describe('entityIdProblem', () => {
  it.each([
    'user-1',
    'a',
    'a b',
    'user:42/orders#7',
    'ünïcödé',
    '😀', // a surrogate pair
    'a😀b',
    'x'.repeat(128),
    '{"json":true}',
  ])('accepts %j', (value) => {
    expect(entityIdProblem(value)).toBeUndefined();
  });

  it('limits the length to 128', () => {
    expect(entityIdProblem('')).toBe('entity_id must be 1-128 characters');
    expect(entityIdProblem('x'.repeat(128))).toBeUndefined();
    expect(entityIdProblem('x'.repeat(129))).toBe('entity_id must be 1-128 characters');
  });

  it('rejects every C0, DEL and C1 control character, anywhere', () => {
    const controls = [...Array.from({ length: 0x20 }, (_, i) => i), 0x7f, ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i)];
    for (const code of controls) {
      const c = String.fromCharCode(code);
      for (const value of [c, `a${c}`, `${c}a`, `a${c}b`]) {
        expect(entityIdProblem(value)).toBe('entity_id must not contain control characters');
      }
    }
    // The characters just around the control ranges are fine.
    expect(entityIdProblem('a\u0020b')).toBeUndefined();
    expect(entityIdProblem('a\u007eb')).toBeUndefined();
    expect(entityIdProblem('a\u00a0b')).toBeUndefined();
  });

  it('rejects blank ids', () => {
    for (const value of [' ', '   ', '\u00a0', '\u2003', '\u3000', '\ufeff']) {
      expect(entityIdProblem(value)).toBe('entity_id must not be blank');
    }
    // Blank with a tab or newline is caught as a control character first.
    expect(entityIdProblem(' \t ')).toBe('entity_id must not contain control characters');
  });

  it('rejects leading or trailing whitespace', () => {
    for (const value of [' a', 'a ', ' a ', '\u00a0a', 'a\u2003', '\u3000a', 'a\u2028']) {
      expect(entityIdProblem(value)).toBe('entity_id must not have leading or trailing whitespace');
    }
  });

  it('rejects lone surrogates but accepts pairs', () => {
    for (const value of ['\ud800', '\udc00', 'a\ud83d', '\ude00a', 'a\ud83db', '\ud83d\ud83d', '\ude00\ud83d', '😀\ude00']) {
      expect(entityIdProblem(value)).toBe('entity_id must be valid unicode');
    }
    expect(entityIdProblem('\ud83d\ude00\ud83d\ude00')).toBeUndefined();
  });

  it.each([undefined, null, 42, false, {}, ['a']])('rejects the non-string %p', (value) => {
    expect(entityIdProblem(value)).toBe('entity_id must be a string');
  });
});

describe('tenantIdProblem', () => {
  it.each(['default', 'a', 'A-b_9', 'x'.repeat(64), '-', '_'])('accepts %j', (value) => {
    expect(tenantIdProblem(value)).toBeUndefined();
  });

  it.each(['', 'x'.repeat(65), 'a.b', 'a b', 'tenant/1', 'ténant', ' a', 'a\n', 1, {}, null, undefined])('rejects %p', (value) => {
    expect(tenantIdProblem(value)).toBe('tenant_id must be 1-64 of [A-Za-z0-9_-]');
  });
});

describe('toNewEvent', () => {
  it('turns a valid body into a NewEvent with defaults', () => {
    expect(toNewEvent(valid(), limits)).toEqual({
      eventType: 'user.created',
      entityId: 'user-1',
      tenantId: 'default',
      payloadJson: '{"name":"Ada"}',
      metadataJson: null,
      expectedVersion: undefined,
    });
  });

  it('keeps tenant, metadata and expected version when given', () => {
    const event = toNewEvent(valid({ tenant_id: 'acme', metadata: { source: 'test' }, expected_version: 3 }), limits);
    expect(event).toMatchObject({ tenantId: 'acme', metadataJson: '{"source":"test"}', expectedVersion: 3 });
  });

  it.each([undefined, null])('treats tenant_id %p as the default tenant', (tenant_id) => {
    expect(toNewEvent(valid({ tenant_id }), limits).tenantId).toBe('default');
  });

  it.each([[undefined], [null]])('stores metadata %p as no metadata', (metadata) => {
    const body = valid({ metadata });
    expect(toNewEvent(body, limits).metadataJson).toBeNull();
    const absent = valid();
    delete absent.metadata;
    expect(toNewEvent(absent, limits).metadataJson).toBeNull();
  });

  it.each([
    [{}, '{}'],
    [[], '[]'],
    [false, 'false'],
    [0, '0'],
    ['', '""'],
    [{ nested: { deep: [1, null] } }, '{"nested":{"deep":[1,null]}}'],
  ])('keeps any other metadata %p as JSON text', (metadata, json) => {
    expect(toNewEvent(valid({ metadata }), limits).metadataJson).toBe(json);
  });

  it('requires a payload but accepts any JSON value as one, null included', () => {
    const absent = valid();
    delete absent.payload;
    rejects(absent, 'payload is required');
    rejects(valid({ payload: undefined }), 'payload is required');
    for (const [payload, json] of [
      [null, 'null'],
      [0, '0'],
      [false, 'false'],
      ['text', '"text"'],
      [[1, 2], '[1,2]'],
      [{}, '{}'],
    ] as const) {
      expect(toNewEvent(valid({ payload }), limits).payloadJson).toBe(json);
    }
  });

  it.each([null, undefined, 'text', 42, true, [], [valid()]])('rejects the body %p when it is not a JSON object', (body) => {
    rejects(body, 'body must be a JSON object');
  });

  it('names the first problem: event_type, then entity_id, then payload, then tenant', () => {
    rejects({ entity_id: '', payload: 1, tenant_id: '!' }, 'event_type must be a string');
    rejects({ event_type: 'BAD', entity_id: '', payload: 1 }, /^event_type may hold/);
    rejects({ event_type: 'ok', entity_id: ' x', tenant_id: '!' }, 'entity_id must not have leading or trailing whitespace');
    rejects({ event_type: 'ok', entity_id: 'x', tenant_id: '!' }, 'payload is required');
    rejects({ event_type: 'ok', entity_id: 'x', payload: 1, tenant_id: '!' }, 'tenant_id must be 1-64 of [A-Za-z0-9_-]');
  });

  it.each([
    [{ entity_id: 'a\u0000b' }, 'entity_id must not contain control characters'],
    [{ entity_id: '   ' }, 'entity_id must not be blank'],
    [{ entity_id: 'a ' }, 'entity_id must not have leading or trailing whitespace'],
    [{ entity_id: 'x'.repeat(129) }, 'entity_id must be 1-128 characters'],
    [{ entity_id: 'a\udc00' }, 'entity_id must be valid unicode'],
    [{ entity_id: 7 }, 'entity_id must be a string'],
    [{ event_type: 'a..b' }, /no leading, trailing or double dot/],
    [{ tenant_id: '' }, 'tenant_id must be 1-64 of [A-Za-z0-9_-]'],
    [{ tenant_id: 12 }, 'tenant_id must be 1-64 of [A-Za-z0-9_-]'],
  ])('rejects %p', (overrides, message) => {
    rejects(valid(overrides), message);
  });

  it.each([0, 1, 42, Number.MAX_SAFE_INTEGER])('accepts expected_version %p', (expected_version) => {
    expect(toNewEvent(valid({ expected_version }), limits).expectedVersion).toBe(expected_version);
  });

  it.each([undefined, null])('treats expected_version %p as not given', (expected_version) => {
    expect(toNewEvent(valid({ expected_version }), limits).expectedVersion).toBeUndefined();
  });

  it.each([-1, 1.5, Number.NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER + 1, '1', '0', true, false, {}, [1]])(
    'rejects expected_version %p',
    (expected_version) => {
      rejects(valid({ expected_version }), 'expected_version must be a non-negative integer');
    },
  );

  describe('event size limit', () => {
    const sizeMessage = 'payload and metadata exceed the event size limit of 1000 bytes';
    /** A payload whose JSON text is exactly `bytes` ASCII bytes: `"xxx…"`. */
    const stringOfJsonBytes = (bytes: number): string => 'x'.repeat(bytes - 2);

    it('accepts payload + metadata of exactly the limit and rejects one byte more', () => {
      expect(toNewEvent(valid({ payload: stringOfJsonBytes(1000) }), limits).payloadJson.length).toBe(1000);
      rejects(valid({ payload: stringOfJsonBytes(1001) }), sizeMessage);
    });

    it('counts metadata with the payload', () => {
      expect(() => toNewEvent(valid({ payload: stringOfJsonBytes(600), metadata: stringOfJsonBytes(400) }), limits)).not.toThrow();
      rejects(valid({ payload: stringOfJsonBytes(600), metadata: stringOfJsonBytes(401) }), sizeMessage);
      // Null metadata costs nothing.
      expect(() => toNewEvent(valid({ payload: stringOfJsonBytes(1000), metadata: null }), limits)).not.toThrow();
    });

    it('counts UTF-8 bytes, not characters', () => {
      // 400 euro signs: 402 characters of JSON but 1202 bytes.
      rejects(valid({ payload: '€'.repeat(400) }), sizeMessage);
      // 333 of them: 1001 bytes; 332: 998 bytes.
      rejects(valid({ payload: '€'.repeat(333) }), sizeMessage);
      expect(() => toNewEvent(valid({ payload: '€'.repeat(332) }), limits)).not.toThrow();
      // Escapes count as what JSON.stringify writes: "\n" is two bytes.
      expect(() => toNewEvent(valid({ payload: '\n'.repeat(499) }), limits)).not.toThrow();
      rejects(valid({ payload: '\n'.repeat(500) }), sizeMessage);
    });

    it('skips the byte count only where no text could exceed the limit (3 bytes a UTF-16 unit at most)', () => {
      // 333 units of JSON: 999 bytes at most, so no count; whatever the characters, within the limit.
      expect(() => toNewEvent(valid({ payload: '€'.repeat(331) }), limits)).not.toThrow();
      expect(() => toNewEvent(valid({ payload: '\u{1F600}'.repeat(165) }), limits)).not.toThrow();
      // 334 units: counted. 332 euro signs are 998 bytes, 167 emoji (4 bytes per 2 units) 670 bytes.
      expect(() => toNewEvent(valid({ payload: '€'.repeat(332) }), limits)).not.toThrow();
      expect(() => toNewEvent(valid({ payload: '\u{1F600}'.repeat(167) }), limits)).not.toThrow();
      // 1000 units at 1 byte each pass the count; the same units as euro signs do not.
      expect(() => toNewEvent(valid({ payload: 'x'.repeat(998) }), limits)).not.toThrow();
      rejects(valid({ payload: '€'.repeat(998) }), sizeMessage);
    });
  });

  describe('batch prefix', () => {
    it('prefixes every message with `where`', () => {
      rejects(valid({ event_type: '' }), 'event_type must be 1-128 characters', 'events[3]: ');
      rejects(valid({ entity_id: ' ' }), 'entity_id must not be blank', 'events[3]: ');
      rejects(valid({ payload: undefined }), 'payload is required', 'events[3]: ');
      rejects(valid({ tenant_id: 'a b' }), 'tenant_id must be 1-64 of [A-Za-z0-9_-]', 'events[3]: ');
      rejects(valid({ expected_version: -1 }), 'expected_version must be a non-negative integer', 'events[3]: ');
      rejects(valid({ payload: 'x'.repeat(2000) }), 'payload and metadata exceed the event size limit of 1000 bytes', 'events[3]: ');
      rejects('not an object', 'body must be a JSON object', 'events[3]: ');
    });

    it('renders the prefix in the answer body', () => {
      const err = thrownError(() => toNewEvent(valid({ entity_id: '' }), limits, 'events[3]: '));
      expect(err.toBody()).toEqual({ error: 'Invalid event: events[3]: entity_id must be 1-128 characters', code: 'INVALID_EVENT' });
    });

    it('has no prefix by default', () => {
      const err = thrownError(() => toNewEvent(valid({ entity_id: '' }), limits));
      expect(err.message).toBe('entity_id must be 1-128 characters');
    });
  });
});
