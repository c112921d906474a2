import type { Path } from './path.js';

/**
 * A task's filesystem context (struct fs_struct, fs/fs_struct.c): root and working
 * directory, and the file-creation mask. Shared with CLONE_FS, copied otherwise.
 */
export class FsStruct {
  umask = 0o022;

  constructor(
    public root: Path,
    public pwd: Path,
  ) {}

  /** copy_fs_struct. */
  clone(): FsStruct {
    const c = new FsStruct(this.root, this.pwd);
    c.umask = this.umask;
    return c;
  }
}
