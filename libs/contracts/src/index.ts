export * from './events';
export * from './queues';
export * from './dto';
export * from './validate';
export { textFormReason } from './dto/rules';
