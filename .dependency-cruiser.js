/**
 * Module boundaries (docs/conventions.md): a module's entities and repositories are its own;
 * others go through its facade service. No cycles.
 */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'no-foreign-repositories',
      comment: 'only a module reads its own tables; call its service instead',
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/([^/]+)/.+\\.repository\\.ts$', pathNot: '^src/$1/' },
    },
    {
      name: 'config-is-a-leaf',
      comment:
        'config is read by every module, so it imports only src/common: a setting that needs a ' +
        'parser keeps that parser in src/common (cron, timezone and deadline parsing in ' +
        'common/time), never in the module that uses the setting',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: '^src/(config|common)/' },
    },
    {
      name: 'common-is-shared',
      comment:
        'src/common is imported by every module and imports none: settings come in as ' +
        'providers (RedisSettings from ConfigModule), SQL helpers live in common/sql',
      severity: 'error',
      from: { path: '^src/common/' },
      to: { path: '^src/', pathNot: '^src/common/' },
    },
    {
      name: 'workflows-not-scheduling',
      comment:
        'scheduling reads workflows through WorkflowsService; workflows validates cron, ' +
        'timezone and calendar with the pure code in common/time, so the edge is one-way',
      severity: 'error',
      from: { path: '^src/workflows/' },
      to: { path: '^src/scheduling/' },
    },
    {
      name: 'database-registers-entities-only',
      comment:
        "the database module lists every module's entities (entities.ts) and migrations: " +
        'that registry is its only import from a feature module (the registry pattern), so ' +
        'the features -> database edge stays one-way in every other respect',
      severity: 'error',
      from: { path: '^src/database/' },
      to: {
        path: '^src/',
        pathNot: ['^src/(database|common|config)/', '\\.entity\\.ts$'],
      },
    },
    {
      name: 'no-simulator-in-service',
      comment: 'the simulator is a dev and test tool, never part of the service',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^tools/' },
    },
    {
      name: 'no-test-code-in-service',
      comment:
        'fakes and test helpers live under test/ and never ship in dist/; only specs use them ' +
        '(test/unit/build-has-no-fakes.spec.ts checks the build)',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.(spec|int-spec|e2e-spec)\\.ts$' },
      to: { path: '^test/' },
    },
    {
      name: 'no-orphans',
      comment: 'a file nothing imports is dead code or a missing wire-up (entry points excepted)',
      severity: 'error',
      from: {
        orphan: true,
        pathNot: [
          '\\.d\\.ts$',
          '\\.(spec|int-spec|e2e-spec)\\.ts$',
          '^src/(main|cli)\\.ts$',
          '(^|/)tsconfig\\.json$',
        ],
      },
      to: {},
    },
    {
      name: 'no-non-package-json',
      comment: 'every package the service imports is declared in package.json',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-dev-dep',
      comment: 'production code cannot import a devDependency: `npm ci --omit=dev` leaves it out',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.(spec|int-spec|e2e-spec)\\.ts$' },
      to: { dependencyTypes: ['npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
