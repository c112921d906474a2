import type { Inode } from './inode.js';
import type { Mount } from './mount.js';
import type { SuperBlock } from './super.js';

/** Dentry operations (struct dentry_operations). */
export interface DentryOperations {
  /**
   * Is a cached child still valid (d_revalidate)? procfs answers false for entries that
   * depend on the looking task or on tasks that come and go, so they are looked up afresh.
   */
  revalidate?(dentry: Dentry): boolean;
  /** A synthetic name for d_path of dentries outside any tree ("pipe:[123]"; d_dname). */
  dname?(dentry: Dentry): string;
}

/**
 * A directory entry (struct dentry): a name in its parent, bound to an inode. The tree of
 * dentries is the dcache: it caches positive lookups (negative ones are not kept), gives
 * `..` and d_path their answers, and records where filesystems are mounted.
 */
export class Dentry {
  /** Cached children by name (d_subdirs, hashed by name). */
  readonly children = new Map<string, Dentry>();
  /** The last mount made on this dentry in any parent mount (d_mountpoint), if any. */
  mounted: Mount | null = null;
  /** How many mounts sit on this dentry, in all parent mounts (the mountpoint refcount). */
  mountCount = 0;
  /** Removed from its parent (unlinked or replaced): d_path shows " (deleted)". */
  unhashed = false;
  /**
   * Union with a read-only lower directory at the same place (the `-L` host directory under
   * the in-memory root): names missing here are looked up there. Only directories have one.
   */
  lower: Inode | null = null;
  parent: Dentry;

  constructor(
    public name: string,
    parent: Dentry | null,
    public inode: Inode,
    public op: DentryOperations | null = null,
  ) {
    this.parent = parent ?? this;
  }

  get sb(): SuperBlock {
    return this.inode.sb;
  }

  isRoot(): boolean {
    return this.parent === this;
  }

  /** A cached child, after revalidation (lookup_fast / d_lookup). */
  cached(name: string): Dentry | null {
    const d = this.children.get(name);
    if (!d) return null;
    if (d.op?.revalidate && !d.op.revalidate(d)) {
      if (d.mountCount === 0) this.children.delete(name);
      else return d; // never drop a mountpoint from the cache
      return null;
    }
    return d;
  }

  /** Add a child made by a lookup or create (d_add / d_instantiate). */
  add(name: string, inode: Inode, op: DentryOperations | null = null): Dentry {
    const d = new Dentry(name, this, inode, op ?? this.op);
    this.children.set(name, d);
    return d;
  }

  /** Forget a child after unlink/rmdir (d_delete). */
  drop(name: string): void {
    const d = this.children.get(name);
    if (d) {
      d.unhashed = true;
      this.children.delete(name);
    }
  }
}
