/** Library entry of @allsource/core (the service itself starts from main.ts). */
export * from './app/createCore';
export * from './config';
export * from './storage/eventStore';
export type { NewEvent, StoredEvent } from './events/storedEvent';
export { createLogger } from '@allsource/service-kit';
export * from './projections/defineProjection';
export type { Projection } from './projections/projection';
