export * from './database';
export * from './clock';
export * from './migrate';
export * from './apply-clinical-event';
export * from './outbox';
export * from './dead-letters';
export * from './read-models';
