import { LiveList } from './live-list';

describe('LiveList', () => {
  it('holds what was added until it is removed, from anywhere in the list', () => {
    const list = new LiveList<string>();
    const a = list.add('a');
    const b = list.add('b');
    const c = list.add('c');
    const d = list.add('d');
    expect(list.size).toBe(4);
    expect([...list]).toEqual(['d', 'c', 'b', 'a']);

    expect(list.remove(b)).toBe(true); // middle
    expect([...list]).toEqual(['d', 'c', 'a']);
    expect(list.remove(d)).toBe(true); // head
    expect([...list]).toEqual(['c', 'a']);
    expect(list.remove(a)).toBe(true); // tail
    expect([...list]).toEqual(['c']);
    expect(list.size).toBe(1);
    expect(list.remove(c)).toBe(true);
    expect([...list]).toEqual([]);
    expect(list.size).toBe(0);
  });

  it('removes a node once: again, or from another list, is a no-op that says so', () => {
    const list = new LiveList<number>();
    const other = new LiveList<number>();
    const one = list.add(1);
    other.add(2);
    expect(other.remove(one)).toBe(false);
    expect([...list]).toEqual([1]);
    expect(list.remove(one)).toBe(true);
    expect(list.remove(one)).toBe(false);
    expect(list.size).toBe(0);
    expect(other.size).toBe(1);
  });

  it('lets go of a removed value and its neighbours', () => {
    const list = new LiveList<{ payload: number[] }>();
    list.add({ payload: [1] });
    const middle = list.add({ payload: [2] });
    list.add({ payload: [3] });
    list.remove(middle);
    expect(middle).toEqual({ value: null, prev: null, next: null, list: null });
  });

  it('drains: returns every value and leaves the list and its nodes empty', () => {
    const list = new LiveList<string>();
    const nodes = ['x', 'y', 'z'].map((v) => list.add(v));
    expect(list.drain()).toEqual(['z', 'y', 'x']);
    expect(list.size).toBe(0);
    expect([...list]).toEqual([]);
    for (const node of nodes) expect(list.remove(node)).toBe(false);
    // usable again afterwards
    list.add('again');
    expect([...list]).toEqual(['again']);
  });

  it('keeps iterating when the value it just gave is removed', () => {
    const list = new LiveList<number>();
    const nodes = new Map([1, 2, 3, 4].map((v) => [v, list.add(v)]));
    const seen: number[] = [];
    for (const v of list) {
      seen.push(v);
      list.remove(nodes.get(v)!);
    }
    expect(seen).toEqual([4, 3, 2, 1]);
    expect(list.size).toBe(0);
  });
});
