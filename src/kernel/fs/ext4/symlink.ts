/** Symlinks on ext4 (fs/ext4/symlink.c): fast (in the inode) and block symlinks read through the engine. */
import { ENOENT } from '../../errno.js';
import type { Inode, InodeOperations } from '../inode.js';
import { ext4Call, sbInfo } from './ext4.js';
import { ext4Setattr, type Ext4Inode } from './inode.js';

export const ext4SymlinkInodeOperations: InodeOperations = {
  /** ext4_get_link / simple_get_link: read once, then keep the body (i_link). */
  getLink(inode: Inode): string | number {
    if (inode.link !== null) return inode.link;
    const ei = inode as Ext4Inode;
    if (ei.evicted) return -ENOENT;
    const sbi = sbInfo(inode.sb);
    const body = ext4Call(sbi, 'ext4_get_link', () => sbi.engine.readlink(inode.ino));
    if (typeof body === 'number') return body;
    inode.link = body;
    return body;
  },
  setattr: (inode, attr) => ext4Setattr(inode, attr),
};
