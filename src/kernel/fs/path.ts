import type { Dentry } from './dcache.js';
import type { Mount } from './mount.js';

/** A location in the mount tree (struct path): which mount, and which dentry inside it. */
export interface Path {
  mnt: Mount;
  dentry: Dentry;
}

export function pathEqual(a: Path, b: Path): boolean {
  return a.mnt === b.mnt && a.dentry === b.dentry;
}
