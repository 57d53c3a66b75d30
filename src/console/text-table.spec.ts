import { durationText, textTable } from './text-table';

describe('textTable', () => {
  it('pads every column to its widest cell', () => {
    expect(
      textTable(
        ['ID', 'STATUS', 'N'],
        [
          ['a', 'completed', 3],
          ['bbbb', null, 12],
        ],
      ),
    ).toBe(['ID    STATUS     N', 'a     completed  3', 'bbbb  -          12'].join('\n'));
  });

  it('replaces control characters so a value cannot forge a line', () => {
    expect(textTable(['NAME'], [['evil\n\u001b[31mred']])).toBe('NAME\nevil??[31mred');
  });
});

describe('durationText', () => {
  it.each([
    [null, '-'],
    [850, '850 ms'],
    [3240, '3.2 s'],
    [245_000, '4 min 05 s'],
    [3_720_000, '1 h 02 min'],
  ])('shows %p as %p', (ms, text) => {
    expect(durationText(ms)).toBe(text);
  });
});
