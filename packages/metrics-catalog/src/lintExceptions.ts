/**
 * The only findings `promtool check metrics` may report on /metrics, each kept on purpose.
 * The test that pipes /metrics through promtool fails on anything else.
 */
export const ACCEPTED_PROMTOOL_FINDINGS: ReadonlyArray<{ metric: string; finding: string; reason: string }> = [
  ...[
    'allsource_events_ingested_by_type',
    'allsource_projection_events_processed',
    'allsource_replay_events_processed',
    'allsource_pipeline_events_processed',
    'allsource_pipeline_events_filtered',
    'allsource_compaction_files_merged',
    'allsource_compaction_bytes_saved',
    'allsource_websocket_messages_sent',
  ].map((metric) => ({
    metric,
    finding: 'counter metrics should have "_total" suffix',
    reason: 'AllSource seed name: rules, dashboards and clients query it by this exact name',
  })),
  ...[
    'allsource_storage_events_total',
    'allsource_storage_entities_total',
    'allsource_parquet_files_total',
    'allsource_wal_segments_total',
    'allsource_pipelines_registered_total',
    'allsource_snapshots_total',
  ].map((metric) => ({
    metric,
    finding: 'non-counter metrics should not have "_total" suffix',
    reason: 'AllSource seed name of a gauge: kept exactly for existing dashboards',
  })),
  ...['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'].map((metric) => ({
    metric,
    finding: 'non-counter metrics should not have "_total" suffix',
    reason: "prom-client's default Node.js metrics, named by the library",
  })),
];
