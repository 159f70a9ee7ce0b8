import * as path from 'node:path';
import type { CoreModule, CoreModuleDeps } from '../app/coreModule';
import type { NewEvent } from '../events/storedEvent';
import type { FileSystem } from '../storage/fs/fileSystem';
import { SchemaRegistry } from './schemaRegistry';
import { schemaRoutes } from './schemaRoutes';

/**
 * The schema registry as a core module: loads DATA_DIR/schemas, serves /api/v1/schemas…, drives
 * the schema metrics, and installs the ingest payload validator while anything is enforced.
 */
export async function schemaRegistryModule(deps: CoreModuleDeps, fs?: FileSystem): Promise<CoreModule> {
  const { config, metrics, ingest } = deps;
  const registered = metrics.m.counter('allsource_schemas_registered_total');
  const validations = metrics.m.counter('allsource_schema_validations_total');
  const duration = metrics.m.histogram('allsource_schema_validation_duration_seconds');
  const validateEvents = (events: readonly NewEvent[]): void => registry.validateEvents(events);
  // The hook costs nothing on ingest unless some subject is enforced.
  const syncIngestHook = (): void => {
    ingest.payloadValidator = registry.enforcing ? validateEvents : undefined;
  };
  const registry: SchemaRegistry = await SchemaRegistry.open({
    dir: path.join(config.dataDir, 'schemas'),
    enforcement: config.schemaEnforcement,
    limits: {
      maxSubjects: config.schemaMaxSubjects,
      maxVersionsPerSubject: config.schemaMaxVersionsPerSubject,
      maxSchemaBytes: config.schemaMaxSchemaBytes,
      maxTotalBytes: config.schemaMaxTotalBytes,
      validatorCacheEntries: config.schemaValidatorCacheEntries,
      maxPendingWrites: config.schemaMaxPendingWrites,
      maxErrors: config.schemaMaxErrors,
    },
    logger: deps.logger.child({ component: 'schemas' }),
    observer: {
      onRegistered: () => registered.inc(),
      onValidation: (subject, valid, seconds) => {
        validations.inc({ subject: metrics.subjects.value(subject), result: valid ? 'valid' : 'invalid' });
        duration.observe(seconds);
      },
      onEnforcementChange: () => syncIngestHook(),
    },
    ...(fs ? { fs } : {}),
  });
  syncIngestHook();
  return {
    name: 'schemas',
    routes: (app) => schemaRoutes(app, registry, config),
    close: () => registry.close(),
  };
}
