export * from './codes';
export * from './pathology';
export * from './hl7v2/parse';
export * from './hl7v2/ack';
export * from './hl7v2/oru';
export * from './fhir/diagnostic-report';
export * from './fhir/task-resources';
