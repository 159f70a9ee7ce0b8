export * from './buckets';
export * from './catalog';
export * from './labelCap';
export * from './createMetrics';
export * from './cachedMetrics';
export * from './lintExceptions';
export * from './expositionRegistry';
