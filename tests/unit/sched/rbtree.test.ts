// The intrusive red-black tree (lib/rbtree.ts): every invariant holds through random inserts
// and erases, the cached leftmost is the minimum, and equal keys keep insertion order.
import { describe, expect, it } from 'vitest';
import { RbRootCached, type RbNode } from '../../../src/kernel/lib/rbtree.js';

interface Item extends RbNode {
  key: number;
  id: number;
}

function item(key: number, id: number): Item {
  return { key, id, rbParent: null, rbLeft: null, rbRight: null, rbRed: false };
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('RbRootCached', () => {
  it('keeps order, balance and the leftmost through 5000 random inserts and erases', () => {
    const tree = new RbRootCached<Item>((a, b) => a.key < b.key);
    const live: Item[] = [];
    const rand = rng(42);
    let id = 0;
    for (let op = 0; op < 5000; op++) {
      if (live.length === 0 || rand() < 0.55) {
        const it = item(Math.floor(rand() * 1000), id++);
        tree.insert(it);
        live.push(it);
      } else {
        const i = Math.floor(rand() * live.length);
        tree.erase(live[i]!);
        live.splice(i, 1);
      }
      if (op % 50 === 0) expect(tree.validate()).toBeNull();
      const min = live.reduce<Item | null>((m, x) => (m === null || x.key < m.key ? x : m), null);
      expect(tree.leftmost?.key).toBe(min?.key);
    }
    expect(tree.validate()).toBeNull();
    expect(tree.size).toBe(live.length);
    expect([...tree].map((x) => x.key)).toEqual(live.map((x) => x.key).sort((a, b) => a - b));
  });

  it('is balanced: height stays within 2·log2(n+1) for sorted inserts', () => {
    const tree = new RbRootCached<Item>((a, b) => a.key < b.key);
    const n = 4096;
    for (let i = 0; i < n; i++) tree.insert(item(i, i));
    const height = (x: RbNode | null): number => (x ? 1 + Math.max(height(x.rbLeft), height(x.rbRight)) : 0);
    expect(height(tree.root)).toBeLessThanOrEqual(2 * Math.log2(n + 1));
    expect(tree.validate()).toBeNull();
    expect(tree.last()?.key).toBe(n - 1);
  });

  it('keeps insertion order among equal keys (FIFO), and erasing the leftmost advances it', () => {
    const tree = new RbRootCached<Item>((a, b) => a.key < b.key);
    const xs = [item(5, 0), item(5, 1), item(5, 2), item(3, 3)];
    for (const x of xs) tree.insert(x);
    expect([...tree].map((x) => x.id)).toEqual([3, 0, 1, 2]);
    tree.erase(xs[3]!);
    expect(tree.leftmost?.id).toBe(0);
    tree.erase(xs[0]!);
    expect(tree.leftmost?.id).toBe(1);
    tree.erase(xs[1]!);
    tree.erase(xs[2]!);
    expect(tree.leftmost).toBeNull();
    expect(tree.root).toBeNull();
    expect(tree.validate()).toBeNull();
  });
});
