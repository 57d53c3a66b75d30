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
      name: 'no-simulator-in-service',
      comment: 'the simulator is a dev and test tool, never part of the service',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^tools/' },
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
