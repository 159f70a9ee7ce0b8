export * from './app/createCore';
export * from './config';
