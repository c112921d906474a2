/**
 * In-core ext4 inodes (fs/ext4/inode.c): ext4_iget, ext4_write_inode, ext4_setattr, ext4_evict_inode
 * and the address_space operations (ext4_read_folio, ext4_writepages) that connect the page cache
 * (mm/filemap.ts) to the engine.
 *
 * Who owns what:
 *   - The VFS inode owns mode, uid, gid, times and, for regular files, i_size (it runs ahead of
 *     the disk while written pages are still dirty). They reach the disk at write-back
 *     (ext4_write_inode), which re-reads the engine's inode first so the block map, flags and
 *     link count the engine keeps are never overwritten with stale copies.
 *   - The engine owns nlink, block counts, directory sizes; the glue refreshes them after each
 *     engine call that changes them (ext4Refresh).
 * Instead of hooks on every field change (mark_inode_dirty), each inode remembers the
 * attributes it last wrote (`written`); write-back compares and writes the ones that changed.
 *
 * Blocks are allocated when write() puts data in the cache (like ext4 with -o nodelalloc), so a
 * full disk is reported by write() as ENOSPC, not lost at write-back.
 */
import { EINVAL, ENOENT, EROFS } from '../../errno.js';
import { AddressSpace, type AddressSpaceOps } from '../../mm/filemap.js';
import { PAGE_SIZE } from '../../mm/layout.js';
import { writebackRange } from '../../mm/memory.js';
import { VM_SHARED } from '../../mm/mman.js';
import { initSpecialInode } from '../char_dev.js';
import { ATTR_SIZE, Inode, setattrCopy, type Iattr, type InodeOperations } from '../inode.js';
import type { SuperBlock } from '../super.js';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, S_ISREG } from '../uapi.js';
import { ext4DirOperations } from './dir.js';
import { ext4Call, ext4Error, sbInfo, type EngineInode, type Ext4SbInfo } from './ext4.js';
import { ext4FileOperations } from './file.js';
import { ext4DirInodeOperations } from './namei.js';
import { ext4SymlinkInodeOperations } from './symlink.js';

export class Ext4Inode extends Inode {
  /** i_mapping: the page cache of a regular file (and of anything mapped). */
  readonly mapping: AddressSpace;
  /** Open files (each VMA of a mapping holds one too): i_count as far as eviction cares. */
  openCount = 0;
  /** Attributes as last written to (or read from) disk: see the file comment. */
  written = '';
  /** evict_inode ran: the inode number may belong to another file now. */
  evicted = false;

  constructor(sb: SuperBlock, ino: number, mode: number) {
    super(sb, ino, mode, {}, {});
    this.mapping = new AddressSpace(this, ext4Aops);
  }
}

function sbiOf(inode: Inode): Ext4SbInfo {
  return sbInfo(inode.sb);
}

/** The attributes ext4_write_inode writes, as a comparable string. */
export function attrSignature(i: Inode): string {
  const sizePart = (i.mode & S_IFMT) === S_IFREG ? i.size : -1;
  return `${i.mode}:${i.uid}:${i.gid}:${sizePart}:${i.atime.sec}.${i.atime.nsec}:${i.mtime.sec}.${i.mtime.nsec}:${i.ctime.sec}.${i.ctime.nsec}`;
}

/** Copy the engine's view into the VFS inode (the ext4_iget part after ext4_get_inode_loc). */
function fillFromEngine(inode: Ext4Inode, ei: EngineInode): void {
  inode.uid = ei.uid;
  inode.gid = ei.gid;
  inode.size = ei.size;
  inode.nlink = ei.nlink;
  inode.blocks = ei.blocks;
  inode.atime = { sec: ei.atime.sec, nsec: ei.atime.nsec };
  inode.mtime = { sec: ei.mtime.sec, nsec: ei.mtime.nsec };
  inode.ctime = { sec: ei.ctime.sec, nsec: ei.ctime.nsec };
  inode.btime = ei.crtime ? { sec: ei.crtime.sec, nsec: ei.crtime.nsec } : inode.ctime;
  inode.rdev = ei.rdev ?? 0;
}

/** Operations for device nodes, FIFOs and sockets on ext4 (ext4_special_inode_operations). */
export const ext4SpecialInodeOperations: InodeOperations = {
  setattr: (inode, attr) => ext4Setattr(inode, attr),
};

/** ext4_file_inode_operations. */
export const ext4FileInodeOperations: InodeOperations = {
  setattr: (inode, attr) => ext4Setattr(inode, attr),
};

/**
 * ext4_iget: the in-core inode for `ino`, from the inode hash or read from disk.
 * Returns the inode or -errno (a corrupt inode goes through the error path).
 */
export function ext4Iget(sbi: Ext4SbInfo, ino: number): Ext4Inode | number {
  const cached = sbi.icache.get(ino);
  if (cached) return cached;
  const ei = ext4Call(sbi, 'ext4_iget', () => sbi.engine.readInode(ino));
  if (typeof ei === 'number') return ei;
  if (ei.mode === 0 || (ei.nlink === 0 && ino !== 2)) {
    // A directory entry naming a free inode ("deleted inode referenced").
    return ext4Error(sbi, 'ext4_iget', new Error(`inode #${ino}: comm labvisor: deleted inode referenced`));
  }
  const inode = new Ext4Inode(sbi.sb, ino, ei.mode);
  fillFromEngine(inode, ei);
  switch (ei.mode & S_IFMT) {
    case S_IFREG:
      inode.op = ext4FileInodeOperations;
      inode.fop = ext4FileOperations;
      break;
    case S_IFDIR:
      inode.op = ext4DirInodeOperations;
      inode.fop = ext4DirOperations;
      break;
    case S_IFLNK:
      inode.op = ext4SymlinkInodeOperations;
      break;
    default:
      initSpecialInode(inode, ei.mode, ei.rdev ?? 0);
      inode.op = ext4SpecialInodeOperations;
  }
  inode.written = attrSignature(inode);
  sbi.icache.set(ino, inode);
  return inode;
}

/** After an engine call changed an inode: take nlink, blocks (and size, except for regular files). */
export function ext4Refresh(inode: Ext4Inode): number {
  const sbi = sbiOf(inode);
  const ei = ext4Call(sbi, 'ext4_iget', () => sbi.engine.readInode(inode.ino));
  if (typeof ei === 'number') return ei;
  inode.nlink = ei.nlink;
  inode.blocks = ei.blocks;
  if (!S_ISREG(inode.mode)) inode.size = ei.size;
  return 0;
}

/**
 * ext4_write_inode (__ext4_update_inode): write the VFS-owned attributes when they changed since
 * the last write. Returns 0 or -errno.
 */
export function ext4WriteInode(inode: Ext4Inode): number {
  if (inode.evicted) return 0;
  const sig = attrSignature(inode);
  if (sig === inode.written) return 0;
  if (inode.sb.readonly) return -EROFS;
  const sbi = sbiOf(inode);
  const r = ext4Call(sbi, 'ext4_write_inode', () => {
    const cur = sbi.engine.readInode(inode.ino);
    cur.mode = inode.mode;
    cur.uid = inode.uid;
    cur.gid = inode.gid;
    if (S_ISREG(inode.mode)) cur.size = inode.size;
    cur.atime = inode.atime;
    cur.mtime = inode.mtime;
    cur.ctime = inode.ctime;
    if (cur.crtime) cur.crtime = inode.btime;
    sbi.engine.writeInode(inode.ino, cur);
    inode.blocks = cur.blocks;
    return 0;
  });
  if (r === 0) inode.written = sig;
  return r;
}

/**
 * The dirty PTEs of shared writable mappings tag their page-cache pages dirty (page_mkclean's
 * job in Linux): scan every mm that maps this inode. Then write the dirty pages back.
 */
export function ext4WritebackData(inode: Ext4Inode): number {
  const m = inode.mapping;
  let err = 0;
  for (const mm of [...m.mms]) {
    if (mm.destroyed) continue;
    for (const vma of mm.vmas) {
      if (!vma.file || !(vma.flags & VM_SHARED)) continue;
      const f = vma.file as { inode?: unknown };
      if (f.inode !== inode) continue;
      const r = writebackRange(mm, vma, vma.start, vma.end); // also writes the range back
      if (r < 0 && err === 0) err = r;
    }
  }
  const r = ext4Writepages(inode);
  return err || r;
}

/** Largest run of pages handed to the engine in one write (ext4_writepages' extent-sized batches). */
const WRITEPAGES_BATCH = 64;

/**
 * ext4_writepages: write the dirty pages back, runs of consecutive pages as one engine write
 * (fewer block-map and inode updates than page by page). Clipped to i_size. 0 or first error.
 */
function ext4Writepages(inode: Ext4Inode): number {
  const m = inode.mapping;
  if (m.dirty.size === 0) return 0;
  if (inode.sb.readonly) return -EROFS;
  const sbi = sbiOf(inode);
  const idxs = [...m.dirty].sort((a, b) => a - b);
  let err = 0;
  for (let i = 0; i < idxs.length;) {
    let j = i;
    while (j + 1 < idxs.length && idxs[j + 1] === idxs[j]! + 1 && j + 1 - i < WRITEPAGES_BATCH) j++;
    const first = idxs[i]!;
    const start = first * PAGE_SIZE;
    const end = Math.min((idxs[j]! + 1) * PAGE_SIZE, inode.size);
    for (let k = i; k <= j; k++) m.dirty.delete(idxs[k]!);
    i = j + 1;
    if (end <= start) continue; // wholly beyond EOF
    const buf = new Uint8Array(end - start);
    for (let idx = first; idx * PAGE_SIZE < end; idx++) {
      const p = m.findPage(idx);
      if (!p) continue;
      const o = idx * PAGE_SIZE - start;
      buf.set(p.bytes.subarray(0, Math.min(PAGE_SIZE, end - start - o)), o);
    }
    const r = ext4Call(sbi, 'ext4_writepages', () => sbi.engine.write(inode.ino, start, buf));
    if (r < 0) {
      sbi.log(
        `EXT4-fs (${sbi.devName}): failed to write pages ${first}-${idxs[j]} of inode ${inode.ino} (error ${-r}); data lost`,
      );
      if (err === 0) err = r;
    }
  }
  return err;
}

/** Write back data and attributes of one inode (write_inode_now / __writeback_single_inode). */
export function ext4WritebackInode(inode: Ext4Inode): number {
  if (inode.evicted) return 0;
  const a = S_ISREG(inode.mode) ? ext4WritebackData(inode) : 0;
  const b = ext4WriteInode(inode);
  return a || b;
}

/** address_space_operations (ext4_aops). */
const ext4Aops: AddressSpaceOps = {
  /** ext4_read_folio: the engine reads the blocks (holes as zeros). */
  readpage(mapping: AddressSpace, index: number, buf: Uint8Array): number {
    const inode = mapping.host as Ext4Inode;
    if (inode.evicted) return 0;
    const sbi = sbiOf(inode);
    sbi.pagesAdded++;
    const r = ext4Call(sbi, 'ext4_read_folio', () => sbi.engine.read(inode.ino, index * PAGE_SIZE, buf));
    return r < 0 ? r : 0;
  },
  /** ext4_writepages for one page (data is clipped to i_size by the caller). */
  writepage(mapping: AddressSpace, index: number, data: Uint8Array): number {
    const inode = mapping.host as Ext4Inode;
    if (inode.evicted) return 0;
    if (inode.sb.readonly) return -EROFS;
    const sbi = sbiOf(inode);
    const r = ext4Call(sbi, 'ext4_writepages', () => sbi.engine.write(inode.ino, index * PAGE_SIZE, data));
    if (r < 0) {
      sbi.log(`EXT4-fs (${sbi.devName}): failed to write page ${index} of inode ${inode.ino} (error ${-r}); data lost`);
      return r;
    }
    return 0;
  },
};

/**
 * Allocate the blocks under [pos, pos+len) before data is copied into the cache (ext4_map_blocks
 * with EXT4_GET_BLOCKS_CREATE, as nodelalloc's write_begin does). Returns how many bytes from
 * `pos` have blocks (at least one), or -errno (ENOSPC...) when none could be allocated.
 */
export function ext4AllocRange(inode: Ext4Inode, pos: number, len: number): number {
  if (len <= 0) return 0;
  const sbi = sbiOf(inode);
  const bs = sbi.engine.blockSize;
  const first = Math.floor(pos / bs);
  const last = Math.floor((pos + len - 1) / bs);
  let l = first;
  while (l <= last) {
    const lblk = l;
    const r = ext4Call(sbi, 'ext4_map_blocks', () => sbi.engine.mapBlocks(inode.ino, lblk, last - lblk + 1, true));
    if (typeof r === 'number' || r.pblk === 0 || !(r.len > 0)) {
      if (l === first) return typeof r === 'number' ? r : -EINVAL;
      break;
    }
    l += r.len;
  }
  return Math.min(len, l * bs - pos);
}

/**
 * ext4_setattr: size changes go to the page cache (truncate_pagecache / pagecache_isize_extended)
 * and the engine (ext4_truncate), the rest is copied into the inode and written back later.
 */
export function ext4Setattr(inode0: Inode, attr: Iattr): number {
  const inode = inode0 as Ext4Inode;
  if (inode.evicted) return -ENOENT;
  if (inode.sb.readonly) return -EROFS;
  const sbi = sbiOf(inode);
  if (attr.valid & ATTR_SIZE && attr.size !== undefined && attr.size !== inode.size) {
    if (!S_ISREG(inode.mode)) return -EINVAL;
    const size = attr.size;
    if (size < inode.size) {
      inode.mapping.truncate(size);
    } else if (inode.size % PAGE_SIZE !== 0) {
      // Bytes a mapping wrote past the old EOF in its last page must read back as zeros.
      const idx = Math.floor(inode.size / PAGE_SIZE);
      const p = inode.mapping.findPage(idx);
      if (p && p.bytes.length === PAGE_SIZE) {
        const off = inode.size % PAGE_SIZE;
        p.bytes.fill(0, off);
        if (p.pfn >= 0) inode.mapping.mem!.wrote(p.pfn * PAGE_SIZE + off, PAGE_SIZE - off);
        inode.mapping.markDirty(idx);
      }
    }
    // The engine frees blocks past the new size relative to the on-disk i_size, which lags
    // behind while written data is still cached: bring it up to date first.
    const w = ext4WriteInode(inode);
    if (w < 0) return w;
    const r = ext4Call(sbi, 'ext4_truncate', () => sbi.engine.truncate(inode.ino, size));
    if (r < 0) return r;
    inode.size = size;
    const e = ext4Refresh(inode);
    if (e < 0) return e;
  }
  setattrCopy(inode, attr);
  return 0;
}

/**
 * ext4_evict_inode: the last user of an inode went away. Its pages leave the cache; when it has
 * no links left, the engine frees its blocks and the inode itself.
 */
export function ext4Evict(inode: Ext4Inode): void {
  if (inode.evicted) return;
  const sbi = sbiOf(inode);
  inode.mapping.release();
  inode.evicted = true;
  sbi.icache.delete(inode.ino);
  if (inode.nlink === 0 && !inode.sb.readonly) {
    ext4Call(sbi, 'ext4_evict_inode', () => sbi.engine.evictInode(inode.ino));
  }
}

/** iput: evict an unlinked inode once nothing has it open (or mapped). */
export function ext4MaybeEvict(inode: Ext4Inode): void {
  if (inode.nlink === 0 && inode.openCount <= 0) ext4Evict(inode);
}
