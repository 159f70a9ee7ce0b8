/**
 * What both services (core and control plane) share, so they answer, log, read settings, start
 * and stop the same way.
 */
export * from './app';
export * from './config';
export * from './errorHandler';
export * from './httpMetrics';
export * from './httpServer';
export * from './jsonBody';
export * from './logger';
export * from './requestContext';
export * from './runService';
export * from './security';
