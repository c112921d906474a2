/**
 * Red-black trees (lib/rbtree.c, include/linux/rbtree.h): intrusive nodes — the object kept
 * in the tree carries its own links, so inserting and erasing allocate nothing — and
 * `struct rb_root_cached`, which keeps the leftmost node so the minimum is O(1)
 * (rb_first_cached), as CFS uses it for its timeline.
 *
 * Invariants: the root is black; a red node has black children; every path from a node to
 * its leaves crosses the same number of black nodes. Insert and erase rebalance with at most
 * three rotations.
 */

/** struct rb_node: the links a tree member carries. */
export interface RbNode {
  rbParent: RbNode | null;
  rbLeft: RbNode | null;
  rbRight: RbNode | null;
  /** true = red, false = black. */
  rbRed: boolean;
}

/** Fresh, unlinked rb fields to spread into an object that will live in a tree. */
export function rbNodeInit(n: RbNode): void {
  n.rbParent = null;
  n.rbLeft = null;
  n.rbRight = null;
  n.rbRed = false;
}

/** struct rb_root_cached over nodes of type N ordered by `less` (equal keys go right: FIFO among equals). */
export class RbRootCached<N extends RbNode> {
  root: N | null = null;
  /** rb_leftmost: the smallest node, or null when empty. */
  leftmost: N | null = null;
  size = 0;

  constructor(private readonly less: (a: N, b: N) => boolean) {}

  /** rb_add_cached(). The node must not be in a tree. */
  insert(node: N): void {
    let parent: RbNode | null = null;
    let link = this.root as RbNode | null;
    let goLeft = false;
    let leftmost = true;
    while (link) {
      parent = link;
      if (this.less(node, link as N)) {
        goLeft = true;
        link = link.rbLeft;
      } else {
        goLeft = false;
        leftmost = false;
        link = link.rbRight;
      }
    }
    node.rbParent = parent;
    node.rbLeft = node.rbRight = null;
    node.rbRed = true;
    if (!parent) this.root = node;
    else if (goLeft) parent.rbLeft = node;
    else parent.rbRight = node;
    if (leftmost) this.leftmost = node;
    this.size++;
    this.insertFixup(node);
  }

  /** rb_erase_cached(). The node must be in this tree. */
  erase(node: N): void {
    if (this.leftmost === node) this.leftmost = RbRootCached.next(node) as N | null;
    this.size--;
    let child: RbNode | null;
    let parent: RbNode | null;
    let removedRed: boolean;
    if (node.rbLeft && node.rbRight) {
      // Two children: splice out the successor and put it in node's place.
      let succ = node.rbRight;
      while (succ.rbLeft) succ = succ.rbLeft;
      removedRed = succ.rbRed;
      child = succ.rbRight;
      if (succ.rbParent === node) {
        parent = succ;
      } else {
        parent = succ.rbParent!;
        parent.rbLeft = child;
        if (child) child.rbParent = parent;
        succ.rbRight = node.rbRight;
        node.rbRight.rbParent = succ;
      }
      succ.rbLeft = node.rbLeft;
      node.rbLeft.rbParent = succ;
      this.replaceChild(node, succ);
      succ.rbRed = node.rbRed;
    } else {
      child = node.rbLeft ?? node.rbRight;
      parent = node.rbParent;
      removedRed = node.rbRed;
      if (child) child.rbParent = parent;
      this.replaceChild(node, child);
    }
    node.rbParent = node.rbLeft = node.rbRight = null;
    if (!removedRed) this.eraseFixup(child, parent);
  }

  /** rb_next(): in-order successor. */
  static next(n: RbNode): RbNode | null {
    if (n.rbRight) {
      let c = n.rbRight;
      while (c.rbLeft) c = c.rbLeft;
      return c;
    }
    let c = n;
    let p = n.rbParent;
    while (p && c === p.rbRight) {
      c = p;
      p = p.rbParent;
    }
    return p;
  }

  /** rb_last(). */
  last(): N | null {
    let n = this.root as RbNode | null;
    if (!n) return null;
    while (n.rbRight) n = n.rbRight;
    return n as N;
  }

  /** In-order walk (tests, /proc). */
  *[Symbol.iterator](): IterableIterator<N> {
    for (let n: RbNode | null = this.leftmost; n; n = RbRootCached.next(n)) yield n as N;
  }

  private replaceChild(old: RbNode, repl: RbNode | null): void {
    const p = old.rbParent;
    if (repl) repl.rbParent = p;
    if (!p) this.root = repl as N | null;
    else if (p.rbLeft === old) p.rbLeft = repl;
    else p.rbRight = repl;
  }

  private rotateLeft(x: RbNode): void {
    const y = x.rbRight!;
    x.rbRight = y.rbLeft;
    if (y.rbLeft) y.rbLeft.rbParent = x;
    this.replaceChild(x, y);
    y.rbLeft = x;
    x.rbParent = y;
  }

  private rotateRight(x: RbNode): void {
    const y = x.rbLeft!;
    x.rbLeft = y.rbRight;
    if (y.rbRight) y.rbRight.rbParent = x;
    this.replaceChild(x, y);
    y.rbRight = x;
    x.rbParent = y;
  }

  private insertFixup(n: RbNode): void {
    let node = n;
    for (;;) {
      let parent = node.rbParent;
      if (!parent) {
        node.rbRed = false;
        return;
      }
      if (!parent.rbRed) return;
      const gparent = parent.rbParent!; // a red parent is never the root
      const parentIsLeft = gparent.rbLeft === parent;
      const uncle = parentIsLeft ? gparent.rbRight : gparent.rbLeft;
      if (uncle && uncle.rbRed) {
        // Case 1: recolour and continue from the grandparent.
        parent.rbRed = false;
        uncle.rbRed = false;
        gparent.rbRed = true;
        node = gparent;
        continue;
      }
      if (parentIsLeft) {
        if (parent.rbRight === node) {
          this.rotateLeft(parent); // case 2 → case 3
          node = parent;
          parent = node.rbParent!;
        }
        parent.rbRed = false;
        gparent.rbRed = true;
        this.rotateRight(gparent);
      } else {
        if (parent.rbLeft === node) {
          this.rotateRight(parent);
          node = parent;
          parent = node.rbParent!;
        }
        parent.rbRed = false;
        gparent.rbRed = true;
        this.rotateLeft(gparent);
      }
      return;
    }
  }

  private eraseFixup(n: RbNode | null, p: RbNode | null): void {
    let node = n;
    let parent = p;
    while (node !== this.root && (!node || !node.rbRed) && parent) {
      if (parent.rbLeft === node) {
        let sib = parent.rbRight!;
        if (sib.rbRed) {
          sib.rbRed = false;
          parent.rbRed = true;
          this.rotateLeft(parent);
          sib = parent.rbRight!;
        }
        if ((!sib.rbLeft || !sib.rbLeft.rbRed) && (!sib.rbRight || !sib.rbRight.rbRed)) {
          sib.rbRed = true;
          node = parent;
          parent = node.rbParent;
        } else {
          if (!sib.rbRight || !sib.rbRight.rbRed) {
            sib.rbLeft!.rbRed = false;
            sib.rbRed = true;
            this.rotateRight(sib);
            sib = parent.rbRight!;
          }
          sib.rbRed = parent.rbRed;
          parent.rbRed = false;
          if (sib.rbRight) sib.rbRight.rbRed = false;
          this.rotateLeft(parent);
          node = this.root;
          parent = null;
        }
      } else {
        let sib = parent.rbLeft!;
        if (sib.rbRed) {
          sib.rbRed = false;
          parent.rbRed = true;
          this.rotateRight(parent);
          sib = parent.rbLeft!;
        }
        if ((!sib.rbLeft || !sib.rbLeft.rbRed) && (!sib.rbRight || !sib.rbRight.rbRed)) {
          sib.rbRed = true;
          node = parent;
          parent = node.rbParent;
        } else {
          if (!sib.rbLeft || !sib.rbLeft.rbRed) {
            sib.rbRight!.rbRed = false;
            sib.rbRed = true;
            this.rotateLeft(sib);
            sib = parent.rbLeft!;
          }
          sib.rbRed = parent.rbRed;
          parent.rbRed = false;
          if (sib.rbLeft) sib.rbLeft.rbRed = false;
          this.rotateRight(parent);
          node = this.root;
          parent = null;
        }
      }
    }
    if (node) node.rbRed = false;
  }

  /** Check every invariant; returns a description of the first violation, or null (tests). */
  validate(): string | null {
    if (this.root && this.root.rbRed) return 'red root';
    let count = 0;
    const walk = (n: RbNode | null, parent: RbNode | null): number => {
      if (!n) return 1;
      count++;
      if (n.rbParent !== parent) return -1e9;
      if (n.rbRed && ((n.rbLeft && n.rbLeft.rbRed) || (n.rbRight && n.rbRight.rbRed))) return -1e9;
      if (n.rbLeft && this.less(n as N, n.rbLeft as N)) return -1e9;
      if (n.rbRight && this.less(n.rbRight as N, n as N)) return -1e9;
      const l = walk(n.rbLeft, n);
      const r = walk(n.rbRight, n);
      if (l !== r || l < 0) return -1e9;
      return l + (n.rbRed ? 0 : 1);
    };
    if (walk(this.root, null) < 0) return 'structure, order or black-height violated';
    if (count !== this.size) return `size ${this.size} but ${count} nodes`;
    let first: RbNode | null = this.root;
    while (first && first.rbLeft) first = first.rbLeft;
    if (first !== this.leftmost) return 'stale leftmost';
    return null;
  }
}
