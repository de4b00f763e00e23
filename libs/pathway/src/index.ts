export * from './model';
export * from './config';
export * from './rules';
export * from './risk';
export * from './surveillance';
export * from './pathway';
export * from './dates';
