/** Where a value sits in a LiveList: what add() returns and remove() takes. */
export interface LiveNode<T> {
  value: T | null;
  prev: LiveNode<T> | null;
  next: LiveNode<T> | null;
  list: LiveList<T> | null;
}

/**
 * The work in flight under a long-lived owner (the calls under one caller signal): a
 * doubly-linked list whose add and remove are O(1) and whose removed nodes point at nothing.
 *
 * Why not a Set or a Map: a long-lived Set churned by short-lived entries keeps them alive
 * after they leave it. V8 replaces a Set's (or a Map's) backing table as entries come and
 * go; the replaced table sits in the old generation until the next full GC, and the young
 * garbage's collector (the scavenger) treats what it still points to as live. Every entry
 * that was in the set at a replacement survives, and so does all it references: a call's
 * promise chain and answer, a tenant's results. They are copied twice and promoted, and
 * full GCs follow. Measured with `bench:floor --client clients` (10,000 tenants, every
 * call under one signal, the process's `gc` figures): 170-188 MB promoted and 27-28 full
 * GCs with a Set of the calls in flight, 34-35 MB and 7 with this list (docs/performance.md).
 *
 * A removed node's links and value are cleared, so that even a node promoted while its
 * work was long does not keep its neighbours or its value alive once dead.
 */
export class LiveList<T> implements Iterable<T> {
  private head: LiveNode<T> | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(value: T): LiveNode<T> {
    const node: LiveNode<T> = { value, prev: null, next: this.head, list: this };
    if (this.head) this.head.prev = node;
    this.head = node;
    this.count++;
    return node;
  }

  /** Takes the node out; false when it is not (or no longer) in this list. */
  remove(node: LiveNode<T>): boolean {
    if (node.list !== this) return false;
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    node.prev = node.next = node.list = null;
    node.value = null;
    this.count--;
    return true;
  }

  /** Empties the list and returns what it held, newest first. */
  drain(): T[] {
    const values: T[] = [];
    for (let node = this.head; node; node = this.head) {
      values.push(node.value as T);
      this.remove(node);
    }
    return values;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let node = this.head; node;) {
      // read next first: the caller may remove the node it was given
      const next = node.next;
      yield node.value as T;
      node = next;
    }
  }
}
