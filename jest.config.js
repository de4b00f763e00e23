// Unit tests sit beside the code (*.spec.ts); integration tests live in test/ (*.int-spec.ts).
const moduleNameMapper = {
  '^@app/(contracts|pathway|store|config|platform|cohort|navigation|notify|interop)$': '<rootDir>/libs/$1/src',
};
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] };
module.exports = {
  // Integration tests talk to real Redis and PostgreSQL and start real processes.
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: __dirname,
      roots: ['<rootDir>/apps', '<rootDir>/libs'],
      testMatch: ['**/*.spec.ts'],
      moduleNameMapper,
      transform,
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      rootDir: __dirname,
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.int-spec.ts'],
      setupFiles: ['<rootDir>/test/support/env.ts'],
      moduleNameMapper,
      transform,
    },
    {
      // Faults injected on purpose (workers killed, Redis restarted or emptied, connections killed, SMTP down):
      // docs/reliability.md. Sized by FAULTS_EVENTS (default 2,000; the size: 20000) and FAULTS_FULL=1.
      displayName: 'faults',
      testEnvironment: 'node',
      rootDir: __dirname,
      roots: ['<rootDir>/test'],
      testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'],
      // FAULTS_QUICK=1 (what `npm test`, and so CI, runs): every fault but the worker kills, which spend most of
      // their time in BullMQ's 30-60 s stall detection (about 4 of the suite's 5 minutes); `npm run test:faults` runs all.
      testPathIgnorePatterns: process.env.FAULTS_QUICK === '1' ? ['/worker-kill\\.'] : [],
      setupFiles: ['<rootDir>/test/support/env.ts'],
      moduleNameMapper,
      transform,
    },
  ],
};
