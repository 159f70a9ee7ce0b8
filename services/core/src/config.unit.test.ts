import { ConfigError } from '@allsource/service-kit';
import { loadConfig } from './config';

describe('loadConfig: segment compression', () => {
  it('defaults to Snappy and takes each supported codec', () => {
    expect(loadConfig({}).segmentCompression).toBe('snappy');
    for (const codec of ['snappy', 'zstd', 'lz4_raw', 'uncompressed'] as const) {
      expect(loadConfig({ SEGMENT_COMPRESSION: codec }).segmentCompression).toBe(codec);
    }
  });

  it('refuses anything else, naming the choices', () => {
    expect(() => loadConfig({ SEGMENT_COMPRESSION: 'gzip' })).toThrow(ConfigError);
    expect(() => loadConfig({ SEGMENT_COMPRESSION: 'gzip' })).toThrow(/SEGMENT_COMPRESSION must be one of snappy, zstd, lz4_raw, uncompressed, got 'gzip'/);
  });
});
