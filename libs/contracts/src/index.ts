export * from './events';
export * from './queues';
export * from './dto';
export * from './validate';
