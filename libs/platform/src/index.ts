export * from './tokens';
export * from './platform.module';
export * from './redis';
export * from './graceful-shutdown';
export * from './log-levels';
export * from './metrics';
export * from './json-logger';
