/**
 * The schema registry over real sockets: the contract's endpoints and status codes, ingest
 * enforcement (per subject and global), the schema metrics, and persistence across a restart.
 */
import { scrapeSum } from '../testing/metricsText';
import { makeTempDir, removeDir } from '../testing/tempDirs';
import { startTestCore, useTestCore } from '../testing/testCore';

const userV1 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
  required: ['name'],
};
const userV2 = { ...userV1, properties: { ...userV1.properties, email: { type: 'string', format: 'email' } } };

describe('schema registry API', () => {
  const t = useTestCore();

  it('registers versions, lists, gets and validates, with the contract shapes', async () => {
    const registeredBefore = await scrapeSum(t, 'allsource_schemas_registered_total');
    const r1 = await t.client.schemas.register({ subject: 'user.created', schema: userV1, description: 'a user', tags: ['users'] });
    expect(r1).toEqual({ schema_id: expect.any(String), subject: 'user.created', version: 1, created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
    const r2 = await t.client.schemas.register({ subject: 'user.created', schema: userV2 });
    expect(r2.version).toBe(2);
    expect(r2.schema_id).not.toBe(r1.schema_id);
    // The same schema again is the same version (idempotent registration).
    expect(await t.client.schemas.register({ subject: 'user.created', schema: userV2 })).toEqual(r2);
    expect(await scrapeSum(t, 'allsource_schemas_registered_total')).toBe(registeredBefore + 2);

    const list = await t.client.schemas.list();
    expect(list.subjects).toContain('user.created');
    expect(list.total).toBe(list.subjects.length);

    expect(await t.client.schemas.get('user.created')).toEqual({
      id: r2.schema_id,
      subject: 'user.created',
      version: 2,
      schema: userV2,
      created_at: r2.created_at,
      description: null,
      tags: [],
    });
    expect(await t.client.schemas.get('user.created', { version: 1 })).toMatchObject({ id: r1.schema_id, version: 1, schema: userV1, description: 'a user', tags: ['users'] });
    expect(await t.client.schemas.versions('user.created')).toEqual({
      subject: 'user.created',
      versions: [1, 2],
      compatibility: 'BACKWARD',
      enforce: false,
      enforced: false,
    });
  });

  it('validates payloads against the latest or a given version, and counts it', async () => {
    await t.client.schemas.register({ subject: 'order.placed', schema: { type: 'object', properties: { total: { type: 'number' } }, required: ['total'] } });
    const validBefore = await scrapeSum(t, 'allsource_schema_validations_total', { subject: 'order.placed', result: 'valid' });
    const invalidBefore = await scrapeSum(t, 'allsource_schema_validations_total', { subject: 'order.placed', result: 'invalid' });
    const durationBefore = await scrapeSum(t, 'allsource_schema_validation_duration_seconds_count');

    const ok = await t.client.schemas.validate({ subject: 'order.placed', payload: { total: 3.5 } });
    expect(ok).toMatchObject({ valid: true, errors: [], schema_version: 1 });
    const bad = await t.client.schemas.validate({ subject: 'order.placed', version: 1, payload: { total: 'x', extra: 1 } });
    expect(bad).toMatchObject({ valid: false, errors: ['/total must be number'], schema_version: 1 });
    const missing = await t.client.schemas.validate({ subject: 'order.placed', payload: {} });
    expect(missing.errors).toEqual(["(root) must have required property 'total'"]);

    expect(await scrapeSum(t, 'allsource_schema_validations_total', { subject: 'order.placed', result: 'valid' })).toBe(validBefore + 1);
    expect(await scrapeSum(t, 'allsource_schema_validations_total', { subject: 'order.placed', result: 'invalid' })).toBe(invalidBefore + 2);
    expect(await scrapeSum(t, 'allsource_schema_validation_duration_seconds_count')).toBe(durationBefore + 3);
  });

  it('checks compatibility per subject: 409 with the reason, NONE lets anything through', async () => {
    const subject = 'account.opened';
    await t.client.schemas.register({ subject, schema: { type: 'object', properties: { id: { type: 'string' } } } });
    const breaking = { type: 'object', properties: { id: { type: 'string' }, owner: { type: 'string' } }, required: ['owner'] };
    const conflict = await t.client.raw('POST', '/api/v1/schemas', { body: { subject, schema: breaking } });
    expect(conflict.status).toBe(409);
    expect(conflict.data).toMatchObject({
      code: 'CONFLICT',
      error: expect.stringMatching(/^Conflict: the schema is not BACKWARD compatible with version 1 of 'account.opened': BACKWARD: \$\.owner: required/),
      details: { compatibility: 'BACKWARD', previous_version: 1, problems: [expect.any(String)] },
    });

    expect(await t.client.schemas.setCompatibility(subject, 'FORWARD')).toEqual({ subject, compatibility: 'FORWARD' });
    // Adding a required property is FORWARD compatible.
    expect((await t.client.schemas.register({ subject, schema: breaking })).version).toBe(2);
    // Changing a type is not.
    const retyped = { ...breaking, properties: { ...breaking.properties, id: { type: 'integer' } } };
    expect((await t.client.raw('POST', '/api/v1/schemas', { body: { subject, schema: retyped } })).status).toBe(409);
    expect(await t.client.schemas.setCompatibility(subject, 'NONE')).toEqual({ subject, compatibility: 'NONE' });
    expect((await t.client.schemas.register({ subject, schema: retyped })).version).toBe(3);
    // FULL, lower case accepted.
    const full = await t.client.raw('PUT', `/api/v1/schemas/${subject}/compatibility`, { body: { compatibility: 'full' } });
    expect(full.data).toEqual({ subject, compatibility: 'FULL' });
  });

  it('answers 400 for invalid schemas and bodies, 404 for unknown subjects and versions', async () => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', '/api/v1/schemas', { subject: 'x.y', schema: { type: 'strnig' } }, 400, 'INVALID_INPUT'],
      ['POST', '/api/v1/schemas', { subject: 'x.y', schema: { $ref: '#/$defs/nope' } }, 400, 'INVALID_INPUT'],
      ['POST', '/api/v1/schemas', { subject: 'x.y', schema: { $schema: 'http://json-schema.org/draft-04/schema#' } }, 400, 'INVALID_INPUT'],
      ['POST', '/api/v1/schemas', { subject: 'x.y', schema: { type: 'string', pattern: '^(?=.*\\d).+$' } }, 400, 'INVALID_INPUT'],
      ['POST', '/api/v1/schemas', { subject: 'x.y' }, 400, 'INVALID_INPUT'],
      ['POST', '/api/v1/schemas', { subject: 'Not Valid', schema: {} }, 400, 'INVALID_INPUT'],
      ['POST', '/api/v1/schemas', { subject: 'x.y', schema: {}, tags: 'a' }, 400, 'INVALID_INPUT'],
      ['POST', '/api/v1/schemas', [1], 400, 'INVALID_INPUT'],
      ['GET', '/api/v1/schemas/no.such.subject', undefined, 404, 'NOT_FOUND'],
      ['GET', '/api/v1/schemas/user.created?version=99', undefined, 404, 'NOT_FOUND'],
      ['GET', '/api/v1/schemas/user.created?version=zero', undefined, 400, 'INVALID_QUERY'],
      ['GET', '/api/v1/schemas/no.such.subject/versions', undefined, 404, 'NOT_FOUND'],
      ['PUT', '/api/v1/schemas/no.such.subject/compatibility', { compatibility: 'FULL' }, 404, 'NOT_FOUND'],
      ['PUT', '/api/v1/schemas/user.created/compatibility', { compatibility: 'SIDEWAYS' }, 400, 'INVALID_INPUT'],
      ['PUT', '/api/v1/schemas/no.such.subject/enforcement', { enforce: true }, 404, 'NOT_FOUND'],
      ['PUT', '/api/v1/schemas/user.created/enforcement', { enforce: 'yes' }, 400, 'INVALID_INPUT'],
      ['POST', '/api/v1/schemas/validate', { subject: 'no.such.subject', payload: {} }, 404, 'NOT_FOUND'],
      ['POST', '/api/v1/schemas/validate', { subject: 'user.created', version: 42, payload: {} }, 404, 'NOT_FOUND'],
      ['POST', '/api/v1/schemas/validate', { subject: 'user.created', version: 0, payload: {} }, 400, 'INVALID_INPUT'],
      ['POST', '/api/v1/schemas/validate', { subject: 'user.created' }, 400, 'INVALID_INPUT'],
    ];
    for (const [method, url, body, status, code] of cases) {
      const res = await t.client.raw(method, url, body === undefined ? {} : { body });
      expect({ method, url, status: res.status, code: (res.data as { code?: string }).code }).toEqual({ method, url, status, code });
    }
    const text = await t.client.raw('POST', '/api/v1/schemas', { body: '{"subject":', headers: { 'Content-Type': 'application/json' } });
    expect(text.status).toBe(400);
    const wrongType = await t.client.raw('POST', '/api/v1/schemas', { body: 'x', headers: { 'Content-Type': 'text/plain' } });
    expect(wrongType.status).toBe(415);
    expect((await t.client.schemas.list()).subjects).not.toContain('x.y');
  });

  it('enforces a subject on ingest once switched on: 422 naming the index, nothing stored, metrics moved', async () => {
    const subject = 'payment.made';
    await t.client.schemas.register({ subject, schema: { type: 'object', properties: { amount: { type: 'number', minimum: 0 } }, required: ['amount'] } });
    // Off by default: anything goes.
    await t.client.ingest({ event_type: subject, entity_id: 'p0', payload: { amount: 'lots' } });

    expect(await t.client.raw('PUT', `/api/v1/schemas/${subject}/enforcement`, { body: { enforce: true } })).toMatchObject({
      status: 200,
      data: { subject, enforce: true, enforced: true },
    });
    const schemaErrorsBefore = await scrapeSum(t, 'allsource_ingestion_errors_total', { reason: 'schema' });
    const invalidBefore = await scrapeSum(t, 'allsource_schema_validations_total', { subject, result: 'invalid' });
    const validBefore = await scrapeSum(t, 'allsource_schema_validations_total', { subject, result: 'valid' });

    const single = await t.client.raw('POST', '/api/v1/events', { body: { event_type: subject, entity_id: 'p1', payload: { amount: -1 } } });
    expect(single.status).toBe(422);
    expect(single.data).toMatchObject({
      code: 'VALIDATION_FAILED',
      error: expect.stringMatching(/^Validation error: payload does not match schema 'payment.made' version 1: \/amount must be >= 0/),
      details: { index: 0, event_type: subject, schema_version: 1, errors: [{ instance_path: '/amount', keyword: 'minimum' }] },
    });

    const batch = await t.client.raw('POST', '/api/v1/events/batch', {
      body: {
        events: [
          { event_type: subject, entity_id: 'p2', payload: { amount: 1 } },
          { event_type: 'unrelated.thing', entity_id: 'u1', payload: 'no schema, passes' },
          { event_type: subject, entity_id: 'p3', payload: {} },
        ],
      },
    });
    expect(batch.status).toBe(422);
    expect(batch.data).toMatchObject({ code: 'VALIDATION_FAILED', error: expect.stringMatching(/events\[2\]/), details: { index: 2 } });
    // All or nothing: nothing of the batch was stored.
    expect((await t.client.queryEvents({ entity_id: 'p2' })).count).toBe(0);
    expect((await t.client.queryEvents({ entity_id: 'u1' })).count).toBe(0);

    const ok = await t.client.ingestBatch({
      events: [
        { event_type: subject, entity_id: 'p2', payload: { amount: 1 } },
        { event_type: 'unrelated.thing', entity_id: 'u1', payload: 'no schema, passes' },
      ],
    });
    expect(ok.ingested).toBe(2);

    expect(await scrapeSum(t, 'allsource_ingestion_errors_total', { reason: 'schema' })).toBe(schemaErrorsBefore + 2);
    expect(await scrapeSum(t, 'allsource_schema_validations_total', { subject, result: 'invalid' })).toBe(invalidBefore + 2);
    expect(await scrapeSum(t, 'allsource_schema_validations_total', { subject, result: 'valid' })).toBe(validBefore + 2);

    // Switched off again: the bad payload is accepted.
    await t.client.raw('PUT', `/api/v1/schemas/${subject}/enforcement`, { body: { enforce: false } });
    await t.client.ingest({ event_type: subject, entity_id: 'p4', payload: { amount: -1 } });
  });
});

describe('client patterns cannot stall the store', () => {
  const t = useTestCore();

  it('a backtracking pattern against a hostile payload is a 422, answered at once; lookaround is refused with the reason', async () => {
    const subject = 'bomb.set';
    await t.client.schemas.register({ subject, schema: { type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$' } } } });
    await t.client.raw('PUT', `/api/v1/schemas/${subject}/enforcement`, { body: { enforce: true } });
    // JavaScript's RegExp would need longer than the age of the universe for this one.
    const hostile = await t.client.raw('POST', '/api/v1/events', {
      body: { event_type: subject, entity_id: 'b1', payload: { name: 'a'.repeat(10_000) + '!' } },
    });
    expect(hostile.status).toBe(422);
    expect(hostile.data).toMatchObject({ code: 'VALIDATION_FAILED', details: { errors: [{ instance_path: '/name', keyword: 'pattern' }] } });
    await t.client.ingest({ event_type: subject, entity_id: 'b1', payload: { name: 'a'.repeat(10_000) } });
    expect((await t.client.queryEvents({ entity_id: 'b1' })).count).toBe(1);

    // A large pattern checks only strings short enough for its bound: a longer one is refused, clearly.
    await t.client.schemas.register({ subject: 'word.set', schema: { type: 'object', properties: { word: { type: 'string', pattern: '^[a-z]{0,999}$' } } } });
    await t.client.raw('PUT', '/api/v1/schemas/word.set/enforcement', { body: { enforce: true } });
    const long = await t.client.raw('POST', '/api/v1/events/batch', {
      body: { events: [{ event_type: 'word.set', entity_id: 'w1', payload: { word: 'a' } }, { event_type: 'word.set', entity_id: 'w1', payload: { word: 'a'.repeat(6000) } }] },
    });
    expect(long.status).toBe(422);
    expect(long.data).toMatchObject({
      code: 'VALIDATION_FAILED',
      error: expect.stringMatching(/^Validation error: events\[1\]: payload could not be checked against schema 'word.set' version 1: a string of 6000 characters is too long to check against the pattern/),
      details: { index: 1, event_type: 'word.set', schema_version: 1 },
    });
    expect((await t.client.queryEvents({ entity_id: 'w1' })).count).toBe(0);

    const lookahead = await t.client.raw('POST', '/api/v1/schemas', {
      body: { subject: 'password.set', schema: { type: 'string', pattern: '^(?=.*[A-Z]).{8,}$' } },
    });
    expect(lookahead.status).toBe(400);
    expect(lookahead.data).toMatchObject({
      code: 'INVALID_INPUT',
      error: expect.stringMatching(/pattern "\^\(\?=\.\*\[A-Z\]\)\.\{8,\}\$" is not supported .*linear/),
    });
  });
});

describe('SCHEMA_ENFORCEMENT=all', () => {
  const t = useTestCore({ SCHEMA_ENFORCEMENT: 'all' });

  it('enforces every subject that has a schema, and only those', async () => {
    await t.client.ingest({ event_type: 'thing.done', entity_id: 't1', payload: 1 });
    await t.client.schemas.register({ subject: 'thing.done', schema: { type: 'object' } });
    expect((await t.client.raw('GET', '/api/v1/schemas/thing.done/versions')).data).toMatchObject({ enforce: false, enforced: true });
    const res = await t.client.raw('POST', '/api/v1/events', { body: { event_type: 'thing.done', entity_id: 't1', payload: 1 } });
    expect(res.status).toBe(422);
    expect((res.data as { details: { errors: Array<{ message: string }> } }).details.errors[0]!.message).toBe('must be object');
    await t.client.ingest({ event_type: 'thing.done', entity_id: 't1', payload: {} });
    await t.client.ingest({ event_type: 'other.thing', entity_id: 't1', payload: 1 });
  });
});

describe('persistence', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await makeTempDir('allsource-schemas-restart-');
  });
  afterAll(() => removeDir(dataDir));

  it('schemas, compatibility and enforcement survive a restart on the same data dir', async () => {
    const first = await startTestCore({ DATA_DIR: dataDir });
    let r1: { schema_id: string; created_at: string };
    try {
      r1 = await first.client.schemas.register({ subject: 'user.created', schema: userV1, description: 'v1', tags: ['a', 'b'] });
      await first.client.schemas.register({ subject: 'user.created', schema: userV2 });
      await first.client.schemas.register({ subject: 'draft7.thing', schema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'array', items: [{ type: 'string' }], additionalItems: false } });
      await first.client.schemas.setCompatibility('user.created', 'FULL');
      await first.client.raw('PUT', '/api/v1/schemas/user.created/enforcement', { body: { enforce: true } });
    } finally {
      await first.stop();
    }

    const second = await startTestCore({ DATA_DIR: dataDir });
    try {
      expect((await second.client.schemas.list()).subjects).toEqual(['draft7.thing', 'user.created']);
      expect(await second.client.schemas.versions('user.created')).toEqual({
        subject: 'user.created',
        versions: [1, 2],
        compatibility: 'FULL',
        enforce: true,
        enforced: true,
      });
      expect(await second.client.schemas.get('user.created', { version: 1 })).toEqual({
        id: r1.schema_id,
        subject: 'user.created',
        version: 1,
        schema: userV1,
        created_at: r1.created_at,
        description: 'v1',
        tags: ['a', 'b'],
      });
      // Enforcement is back in force on ingest.
      const res = await second.client.raw('POST', '/api/v1/events', { body: { event_type: 'user.created', entity_id: 'u', payload: { name: 1 } } });
      expect(res.status).toBe(422);
      // The draft-07 schema validates with draft-07 semantics after the restart.
      expect((await second.client.schemas.validate({ subject: 'draft7.thing', payload: ['a', 'b'] })).valid).toBe(false);
      expect((await second.client.schemas.validate({ subject: 'draft7.thing', payload: ['a'] })).valid).toBe(true);
      // FULL is still the rule: removing the optional email is fine, retyping name is not.
      const retyped = { ...userV2, properties: { ...userV2.properties, name: { type: 'integer' } } };
      expect((await second.client.raw('POST', '/api/v1/schemas', { body: { subject: 'user.created', schema: retyped } })).status).toBe(409);
      expect((await second.client.schemas.register({ subject: 'user.created', schema: { ...userV2, title: 'User' } })).version).toBe(3);
    } finally {
      await second.stop();
    }
  });
});
