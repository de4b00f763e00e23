export * from './task-lifecycle';
export * from './routing';
export * from './escalation';
export * from './worklist';
