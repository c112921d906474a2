/** Directories on ext4 (fs/ext4/dir.c): ext4_readdir for getdents, open/release for i_count, fsync. */
import type { DirEntry, File, FileOperations } from '../file.js';
import type { Inode } from '../inode.js';
import { ext4Call, ftToDt, sbInfo } from './ext4.js';
import { ext4MaybeEvict, type Ext4Inode } from './inode.js';
import { ext4SyncFile } from './file.js';

export const ext4DirOperations: FileOperations = {
  open(inode: Inode): number {
    (inode as Ext4Inode).openCount++;
    return 0;
  },
  release(file: File): void {
    const inode = file.inode as Ext4Inode;
    inode.openCount--;
    ext4MaybeEvict(inode);
  },
  /** ext4_readdir (linear and htree directories alike); the VFS adds "." and "..". */
  iterate(file: File): DirEntry[] | number {
    const inode = file.inode as Ext4Inode;
    if (inode.evicted || inode.nlink === 0) return []; // a removed directory is empty
    const sbi = sbInfo(inode.sb);
    const list = ext4Call(sbi, 'ext4_readdir', () => sbi.engine.readdir(inode.ino));
    if (typeof list === 'number') return list;
    const out: DirEntry[] = [];
    for (const e of list) {
      if (e.name === '.' || e.name === '..') continue;
      out.push({ name: e.name, ino: e.ino, type: ftToDt(e.type) });
    }
    return out;
  },
  fsync(file: File): number {
    const inode = file.inode as Ext4Inode;
    if (inode.evicted) return 0;
    return ext4SyncFile(inode);
  },
};
