export * from './envelope.dto';
export * from './payloads.dto';
