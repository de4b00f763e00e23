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
  ],
};
