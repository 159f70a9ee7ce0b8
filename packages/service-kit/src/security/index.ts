export * from './accessControl';
export * from './apiKeys';
export * from './cors';
export * from './presentedKey';
export * from './rateLimit';
export * from './securityHeaders';
export * from './securitySettings';
