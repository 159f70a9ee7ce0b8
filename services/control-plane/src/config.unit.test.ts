import * as path from 'node:path';
import { ConfigError, DEFAULTS, loadConfig, parseCoreNodes } from './config';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8081);
    expect(c.host).toBe('127.0.0.1');
    expect(c.dataDir).toBe(path.resolve('./data/control-plane'));
    expect(c.nodes).toEqual([{ id: 'core-1', url: 'http://127.0.0.1:8080', prometheusInstance: '127.0.0.1:8080' }]);
    expect(c.scrapeIntervalMs).toBe(15_000);
    expect(c.scrapeTimeoutMs).toBe(5_000);
    expect(c.scrapeMaxBytes).toBe(DEFAULTS.scrapeMaxBytes);
    expect(c.historyRawRetentionMs).toBe(86_400_000);
    expect(c.historyRollupStepMs).toBe(300_000);
    expect(c.historyRollupRetentionMs).toBe(30 * 86_400_000);
    expect(c.prometheusUrl).toBeUndefined();
    expect(c.coreApiKey).toBeUndefined();
  });

  it('reads every node, key and history setting', () => {
    const c = loadConfig({
      CORE_NODES: 'core-1=http://127.0.0.1:8080, core-2=https://db.example:9443/',
      CORE_API_KEY: 'secret',
      SCRAPE_INTERVAL_MS: '500',
      PROMETHEUS_URL: 'http://prom:9090/',
      PROMETHEUS_NODE_INSTANCES: 'core-2=core2:8080',
      HISTORY_MAX_RAW_POINTS: '100',
    });
    expect(c.nodes).toEqual([
      { id: 'core-1', url: 'http://127.0.0.1:8080', prometheusInstance: '127.0.0.1:8080' },
      { id: 'core-2', url: 'https://db.example:9443', prometheusInstance: 'core2:8080' },
    ]);
    expect(c.coreApiKey).toBe('secret');
    // The default timeout never exceeds the interval.
    expect(c.scrapeTimeoutMs).toBe(500);
    expect(c.prometheusUrl).toBe('http://prom:9090');
    expect(c.historyMaxRawPoints).toBe(100);
  });

  it.each([
    [{ SCRAPE_INTERVAL_MS: '1000', SCRAPE_TIMEOUT_MS: '2000' }, /must not exceed SCRAPE_INTERVAL_MS/],
    [{ SCRAPE_INTERVAL_MS: 'fast' }, /SCRAPE_INTERVAL_MS must be an integer/],
    [{ PORT: '70000' }, /PORT/],
    [{ CORE_NODES: 'core-1=ftp://x' }, /http:\/\/ or https:\/\//],
    [{ CORE_NODES: 'core-1=http://a:1,core-1=http://b:2' }, /listed twice/],
    [{ CORE_NODES: 'cluster=http://a:1' }, /reserved/],
    [{ CORE_NODES: 'bad id=http://a:1' }, /node id/],
    [{ CORE_NODES: ' , ' }, /at least one node/],
    [{ CORE_NODES: Array.from({ length: 33 }, (_, i) => `n${i}=http://h:${i + 1}`).join(',') }, /at most 32/],
    [{ PROMETHEUS_URL: 'not a url' }, /PROMETHEUS_URL/],
    [{ PROMETHEUS_SELECTOR: '{job="x"}' }, /without braces/],
    [{ PROMETHEUS_NODE_INSTANCES: 'core-9=x:1' }, /unknown node 'core-9'/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
  ])('rejects %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('names nodes given without an id by position', () => {
    expect(parseCoreNodes('http://a:1,http://b:2').map((n) => n.id)).toEqual(['core-1', 'core-2']);
  });
});
