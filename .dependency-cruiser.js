/**
 * Layering rules, checked in CI with `npm run deps:validate` (see docs/architecture.md and DESIGN "Habits").
 * @type {import('dependency-cruiser').IConfiguration}
 */

/** Node built-ins that do I/O, start processes or threads, or read the clock/environment of the host. */
const NODE_IO_MODULES = [
  'fs',
  'fs/promises',
  'net',
  'http',
  'https',
  'http2',
  'tls',
  'dgram',
  'dns',
  'dns/promises',
  'child_process',
  'cluster',
  'worker_threads',
  'readline',
  'readline/promises',
  'repl',
  'inspector',
  'os',
  'process',
  'v8',
  'vm',
  'perf_hooks',
  'timers',
  'timers/promises',
  'async_hooks',
  'diagnostics_channel',
];

/** Packages the pure pathway must not use: framework, storage, transport, mail, validation. */
const PATHWAY_FORBIDDEN_PACKAGES = [
  '@nestjs/[^/]+',
  'pg',
  'pg-[^/]+',
  'bullmq',
  'ioredis',
  'nodemailer',
  'class-validator',
  'class-transformer',
];

const alternatives = (names) => `(${names.map((name) => name.replace(/\//g, '\\/')).join('|')})`;

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make module initialisation order fragile and blur the layering. Break the cycle.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'pathway-no-frameworks',
      severity: 'error',
      comment:
        'libs/pathway is a pure decider: no NestJS, database, queue, mail or validation packages. ' +
        'Only direct imports from libs/pathway files count (a type-only import of @app/contracts is fine, ' +
        'even though contracts itself uses class-validator).',
      from: { path: '^libs/(pathway|navigation)/' },
      to: {
        // resolved (.../node_modules/<package>/...) or, when not installed, the bare module name
        path: `(^|/node_modules/)${alternatives(PATHWAY_FORBIDDEN_PACKAGES)}(/|$)`,
      },
    },
    {
      name: 'pathway-no-node-io',
      severity: 'error',
      comment: 'libs/pathway does no I/O and reads no clock or environment: time and data are passed in.',
      from: { path: '^libs/(pathway|navigation)/' },
      to: {
        dependencyTypes: ['core'],
        path: `^(node:)?${alternatives(NODE_IO_MODULES)}$`,
      },
    },
    {
      name: 'contracts-standalone',
      severity: 'error',
      comment:
        'libs/contracts is shared with publishers: it may not import other libs or the apps ' +
        '(npm packages such as class-validator are fine).',
      from: { path: '^libs/contracts/' },
      to: { path: '^(libs/(?!contracts/)|apps/)' },
    },
    {
      name: 'libs-not-from-apps',
      severity: 'error',
      comment: 'Libraries are used by the apps, never the other way round.',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    // the build output and coverage at the repo root only (packages in node_modules ship their own dist/)
    // Tests may read files (the rule-coverage test does); the rules are about the shipped code.
    exclude: { path: ['^dist/', '^coverage/', '\\.spec\\.ts$'] },
    // Include type-only imports (import type ...) as dependencies, so cycles through types are seen too.
    // A type-only import is marked with dependencyType "type-only"; rules above look at direct edges only,
    // so what contracts imports is not attributed to libs/pathway.
    tsPreCompilationDeps: true,
    // Resolve the @app/* aliases from tsconfig "paths".
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['require', 'node', 'default', 'types', 'import'],
      mainFields: ['main', 'types', 'typings'],
      extensions: ['.ts', '.js', '.cjs', '.mjs', '.json', '.d.ts'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
