import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// A clone is all a newcomer has: every link and every file a comment names must be in it.
const root = resolve(__dirname, '../..');
const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f && existsSync(join(root, f)));

const markdown = tracked.filter((f) => f.endsWith('.md'));
const code = tracked.filter((f) => /\.(ts|js|mjs|cjs|sh)$/.test(f) || f === '.ci/run');

/** Relative targets of Markdown links and images: `[text](target)`, anchors and URLs left out. */
function relativeLinks(text: string): string[] {
  const targets = [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
  return targets.filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith('#'));
}

describe('repository links', () => {
  it('finds the files it checks', () => {
    expect(markdown).toContain('README.md');
    expect(code.length).toBeGreaterThan(50);
  });

  it.each(markdown)('%s links only to files inside the repository', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const broken = relativeLinks(text).filter((target) => {
      const path = resolve(root, dirname(file), target.split('#')[0]);
      return relative(root, path).startsWith('..') || !existsSync(path);
    });
    expect(broken).toEqual([]);
    expect(text).not.toMatch(/\.\.\/shared\b|\bARCHITECTURE\.md|\bCONVENTIONS\.md/);
  });

  it('has no code comment naming a document outside the repository', () => {
    const offenders = code.filter((file) =>
      /\.\.\/shared\b|\bARCHITECTURE\.md|\bCONVENTIONS\.md|PERFORMANCE-NOTES\.md/.test(
        readFileSync(join(root, file), 'utf8'),
      ),
    );
    expect(offenders).toEqual([]);
  });
});
