import { join, relative } from 'node:path';
import * as ts from 'typescript';

// What `nest build` puts in dist/ is what tsc compiles for tsconfig.build.json: the files
// its include/exclude select plus every file they import (`tsc --listFilesOnly`). Fakes
// and test helpers live in test/fakes and must never be among them.
const root = join(__dirname, '../..');
const TEST_ONLY = /fake|testing/i;

function compiledFiles(configFile: string): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(root, configFile),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error(`${configFile} could not be read`);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  return program
    .getSourceFiles()
    .map((f) => relative(root, f.fileName))
    .filter((f) => !f.startsWith('node_modules') && !f.endsWith('.d.ts'));
}

describe('tsconfig.build.json', () => {
  const files = compiledFiles('tsconfig.build.json');

  it('compiles the service entry points', () => {
    expect(files).toEqual(expect.arrayContaining(['src/main.ts', 'src/cli.ts']));
  });

  it('compiles nothing from outside src/ (test/, tools/)', () => {
    expect(files.filter((f) => !f.startsWith('src/'))).toEqual([]);
  });

  it('compiles no file whose path says fake or testing (move it to test/fakes/)', () => {
    expect(files.filter((f) => TEST_ONLY.test(f))).toEqual([]);
  });

  it('compiles no spec', () => {
    expect(files.filter((f) => /\.(spec|int-spec|e2e-spec)\.ts$/.test(f))).toEqual([]);
  });
});

describe('the same check on the type-check config (which includes test/)', () => {
  it('does find the fakes, so the build check above can fail', () => {
    expect(compiledFiles('tsconfig.json')).toEqual(
      expect.arrayContaining(['test/fakes/fake-clock.ts', 'test/fakes/fake-leader-gate.ts']),
    );
  });
});
