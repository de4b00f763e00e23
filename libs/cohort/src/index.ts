export * from './random';
export * from './cohort';
