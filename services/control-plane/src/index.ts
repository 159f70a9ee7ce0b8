/** Library entry of @allsource/control-plane (the service itself starts from main.ts). */
export * from './app/createControlPlane';
export * from './config';
export { DERIVED_METRICS, DERIVED_METRIC_NAMES, type DerivedMetricDef } from './derive/derivedMetrics';
export { History, CLUSTER_SERIES, type Datapoint } from './history/history';
export { histogramQuantile, counterIncrease } from './prometheus/promql';
export * from './prometheus/textFormat';
export { createLogger } from '@allsource/service-kit';
