/**
 * The control plane with access control on both sides: it scrapes cores that require a key
 * (sending its service key), protects its own API with its own keys, and its operations need
 * the admin role.
 */
import { startCorePair, startTestControlPlane, coreNodes, waitFor, type CoreProcess, type TestControlPlane } from '../testing/harness';

const SERVICE_KEY = 'control-plane-service-key-0123';
const CP_READ = 'operator-read-key-0123456789';
const CP_ADMIN = 'operator-admin-key-0123456789';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

let cores: [CoreProcess, CoreProcess];
let t: TestControlPlane;

beforeAll(async () => {
  cores = await startCorePair({ API_KEYS: `control-plane:admin:${SERVICE_KEY}` });
  t = await startTestControlPlane({
    CORE_NODES: coreNodes(...cores),
    CORE_API_KEY: SERVICE_KEY,
    API_KEYS: `viewer:read:${CP_READ},ops:admin:${CP_ADMIN}`,
    SCRAPE_INTERVAL_MS: '200',
  });
});

afterAll(async () => {
  await t?.stop(true);
  await Promise.all((cores ?? []).map((c) => c.destroy()));
});

it('scrapes cores that require a key, with its service key', async () => {
  const status = await waitFor('both nodes healthy', async () => {
    const res = await t.client.raw('GET', '/api/v1/cluster/status', { headers: bearer(CP_READ) });
    const body = res.data as { healthy_nodes?: number };
    return res.status === 200 && body.healthy_nodes === 2 ? body : undefined;
  });
  expect(status.healthy_nodes).toBe(2);
});

it('protects its API: 401 without a key, reads with read, operations only with admin', async () => {
  const anonymous = await t.client.raw('GET', '/api/v1/dashboard/overview');
  expect(anonymous.status).toBe(401);
  expect(anonymous.data).toEqual({ error: expect.stringMatching(/^Unauthorized: /), code: 'UNAUTHORIZED' });
  expect((await t.client.raw('GET', '/api/v1/dashboard/overview', { headers: bearer(CP_READ) })).status).toBe(200);
  expect((await t.client.raw('GET', '/health')).status).toBe(200);
  expect((await t.client.raw('GET', '/metrics')).status).toBe(200);

  const body = { entity_id: 'no-such-entity', node: 'core-1' };
  const forbidden = await t.client.raw('POST', '/api/v1/operations/snapshot', { headers: bearer(CP_READ), body });
  expect(forbidden.status).toBe(403);
  expect(forbidden.data).toEqual({ error: expect.stringMatching(/^Forbidden: /), code: 'FORBIDDEN' });
  // With admin the operation reaches the core (which knows no such entity).
  const performed = await t.client.raw('POST', '/api/v1/operations/snapshot', { headers: bearer(CP_ADMIN), body });
  expect(performed.status).toBe(404);
});

it('serves the dashboard page without a key (it holds no data) with security headers', async () => {
  const page = await t.client.raw('GET', '/');
  expect(page.status).toBe(200);
  expect(page.headers['x-frame-options']).toBe('DENY');
  expect(page.headers['x-content-type-options']).toBe('nosniff');
});
