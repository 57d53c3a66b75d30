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
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
