/**
 * Regular files on ext4 (fs/ext4/file.c): read_iter/write_iter through the page cache
 * (generic_file_read_iter / ext4_buffered_write_iter), O_DIRECT straight to the engine
 * (ext4_dio_read_iter / ext4_dio_write_iter), llseek with SEEK_DATA/SEEK_HOLE
 * (ext4_llseek → iomap_seek_data/hole), fsync (ext4_sync_file).
 */
import { EFBIG, EINVAL, ENXIO, EOPNOTSUPP, EROFS } from '../../errno.js';
import { FALLOC_FL_KEEP_SIZE } from '../open.js';
import { PAGE_SIZE } from '../../mm/layout.js';
import type { File, FileOperations, Kiocb } from '../file.js';
import type { Inode } from '../inode.js';
import type { IovIter } from '../iov_iter.js';
import { O_APPEND, O_DIRECT, O_DSYNC, SEEK_DATA, SEEK_HOLE } from '../uapi.js';
import { genericFileLlseek } from '../read_write.js';
import { ext4Call, sbInfo, type Ext4SbInfo } from './ext4.js';
import { ext4AllocRange, ext4MaybeEvict, ext4WritebackData, ext4WritebackInode, type Ext4Inode } from './inode.js';
import { ext4ShrinkCache } from './super.js';

/** Bytes moved per step of a big write, so one write(2) never asks for one giant copy. */
const WRITE_CHUNK = 1 << 20;
/** Pages read in since the last shrink that trigger one (16 MiB). */
const SHRINK_AFTER_PAGES = 4096;
/** Dirty pages one file may hold before its writer writes them back itself (16 MiB). */
const DIRTY_LIMIT_PAGES = 4096;
/** Logical block size O_DIRECT requires alignment to (bdev_logical_block_size). */
const DIO_ALIGN = 512;

function sbiOf(inode: Inode): Ext4SbInfo {
  return sbInfo(inode.sb);
}

/** touch_atime with relatime rules (atime older than mtime/ctime, or a day old). */
function touchAtime(inode: Ext4Inode): void {
  const sbi = sbiOf(inode);
  if (sbi.opts.noatime || inode.sb.readonly) return;
  const a = inode.atime;
  const now = inode.sb.now();
  const le = (x: { sec: number; nsec: number }, y: { sec: number; nsec: number }): boolean =>
    x.sec < y.sec || (x.sec === y.sec && x.nsec <= y.nsec);
  if (sbi.opts.strictatime || le(a, inode.mtime) || le(a, inode.ctime) || now.sec - a.sec >= 86400) {
    inode.atime = now;
  }
}

/**
 * Make pages [first, last] present, so a read error is an error and not zeros. Returns the
 * first index that could not be read (last+1 when all are there) and the error.
 */
function readPages(inode: Ext4Inode, first: number, last: number): { upTo: number; err: number } {
  for (let i = first; i <= last; i++) {
    if (inode.mapping.findPage(i)) continue;
    const p = inode.mapping.getOrCreate(i);
    if (typeof p === 'number') return { upTo: i, err: p };
  }
  return { upTo: last + 1, err: 0 };
}

/** ext4_dio_read_iter: write back cached dirty pages of the range, then read the disk directly. */
function directRead(inode: Ext4Inode, iocb: Kiocb, to: IovIter): number {
  const pos = iocb.pos;
  if (pos % DIO_ALIGN !== 0 || to.count % DIO_ALIGN !== 0) return -EINVAL;
  if (pos >= inode.size || to.count === 0) return 0;
  const n = Math.min(to.count, inode.size - pos);
  const sbi = sbiOf(inode);
  const wb = inode.mapping.writeback(Math.floor(pos / PAGE_SIZE), Math.floor((pos + n - 1) / PAGE_SIZE));
  if (wb < 0) return wb;
  const buf = new Uint8Array(n);
  const r = ext4Call(sbi, 'ext4_dio_read_iter', () => sbi.engine.read(inode.ino, pos, buf));
  if (r <= 0) return r;
  const c = to.copyTo(buf.subarray(0, r));
  if (c > 0) iocb.pos += c;
  return c;
}

/**
 * ext4_dio_write_iter: flush and invalidate the cached pages of the range
 * (filemap_write_and_wait_range + invalidate_inode_pages2_range), then write through the engine.
 */
function directWrite(inode: Ext4Inode, iocb: Kiocb, from: IovIter): number {
  const pos = iocb.pos;
  if (pos % DIO_ALIGN !== 0 || from.count % DIO_ALIGN !== 0) return -EINVAL;
  const count = from.count;
  if (count === 0) return 0;
  if (pos + count > inode.sb.maxBytes) return -EFBIG;
  const sbi = sbiOf(inode);
  const first = Math.floor(pos / PAGE_SIZE);
  const last = Math.floor((pos + count - 1) / PAGE_SIZE);
  const wb = inode.mapping.writeback(first, last);
  if (wb < 0) return wb;
  const data = from.copyFrom(count);
  if (typeof data === 'number') return data;
  const r = ext4Call(sbi, 'ext4_dio_write_iter', () => sbi.engine.write(inode.ino, pos, data));
  inode.mapping.punchHole(first, last + 1);
  if (r <= 0) return r;
  iocb.pos = pos + r;
  if (iocb.pos > inode.size) inode.size = iocb.pos;
  inode.touchModify();
  return r;
}

/** ext4_sync_file: data, inode, the engine's metadata, then a device flush. */
export function ext4SyncFile(inode: Ext4Inode): number {
  const sbi = sbiOf(inode);
  let err = ext4WritebackInode(inode);
  if (!inode.sb.readonly) {
    const s = ext4Call(sbi, 'ext4_sync_file', () => sbi.engine.sync());
    if (typeof s === 'number' && s < 0 && err === 0) err = s;
  }
  const f = sbi.disk.bdev.flush();
  return err || f;
}

/** iomap_seek_data / iomap_seek_hole: walk the block map from `offset`; dirty cached pages are data. */
function seekDataHole(inode: Ext4Inode, offset: number, wantData: boolean): number {
  const size = inode.size;
  if (offset < 0 || offset >= size) return -ENXIO;
  const sbi = sbiOf(inode);
  const bs = sbi.engine.blockSize;
  const lastBlk = Math.floor((size - 1) / bs);
  let l = Math.floor(offset / bs);
  while (l <= lastBlk) {
    const lblk = l;
    const r = ext4Call(sbi, 'ext4_llseek', () => sbi.engine.mapBlocks(inode.ino, lblk, lastBlk - lblk + 1, false));
    if (typeof r === 'number') return r;
    const len = Math.max(1, r.len);
    let isData = r.pblk !== 0;
    if (!isData) {
      // Unallocated blocks whose page is dirty in the cache (a shared mapping wrote them) are data.
      const page = Math.floor((lblk * bs) / PAGE_SIZE);
      if (inode.mapping.dirty.has(page)) isData = true;
      if (isData) {
        // Only this block: the next one is looked at on its own.
        if (wantData) return Math.max(offset, lblk * bs);
        l = lblk + 1;
        continue;
      }
    }
    if (isData === wantData) return Math.max(offset, lblk * bs);
    l = lblk + len;
  }
  return wantData ? -ENXIO : size; // the implicit hole at EOF
}

/** ext4_llseek: generic_file_llseek_size, with ext4's own search for SEEK_DATA/SEEK_HOLE. */
function ext4Llseek(file: File, offset: number, whence: number): number {
  if (whence !== SEEK_DATA && whence !== SEEK_HOLE) return genericFileLlseek(file, offset, whence);
  const inode = file.inode as Ext4Inode;
  const pos = seekDataHole(inode, offset, whence === SEEK_DATA);
  if (pos < 0) return pos;
  if (pos > inode.sb.maxBytes) return -EINVAL;
  file.pos = pos;
  return pos;
}

/**
 * ext4_fallocate, modes 0 and FALLOC_FL_KEEP_SIZE: allocate (zeroed) blocks under the range and,
 * without KEEP_SIZE, grow i_size to its end. The engine has no unwritten extents, so blocks past
 * EOF cannot be kept without counting as file data: with KEEP_SIZE only the part below EOF is
 * allocated. Punching, zeroing, collapsing and inserting ranges are EOPNOTSUPP.
 */
function ext4Fallocate(file: File, mode: number, offset: number, len: number): number {
  const inode = file.inode as Ext4Inode;
  if (inode.sb.readonly || inode.evicted) return -EROFS;
  if (mode & ~FALLOC_FL_KEEP_SIZE) return -EOPNOTSUPP;
  const end = mode & FALLOC_FL_KEEP_SIZE ? Math.min(offset + len, inode.size) : offset + len;
  let pos = offset;
  while (pos < end) {
    const got = ext4AllocRange(inode, pos, end - pos);
    if (got < 0) return got;
    if (got === 0) break;
    pos += got;
  }
  if (end > inode.size) {
    inode.size = end;
    inode.touchChange();
  }
  return 0;
}

export const ext4FileOperations: FileOperations = {
  /** ext4_file_open: count the opener (i_count for eviction). */
  open(inode: Inode): number {
    (inode as Ext4Inode).openCount++;
    return 0;
  },
  /** ext4_release_file + iput: an unlinked file goes with its last user. */
  release(file: File): void {
    const inode = file.inode as Ext4Inode;
    inode.openCount--;
    ext4MaybeEvict(inode);
  },
  readIter(iocb: Kiocb, to: IovIter): number {
    const inode = iocb.file.inode as Ext4Inode;
    if (inode.evicted) return 0;
    if (iocb.flags & O_DIRECT) return directRead(inode, iocb, to);
    const pos = iocb.pos;
    if (pos >= inode.size || to.count === 0) return 0;
    let n = Math.min(to.count, inode.size - pos);
    const { upTo, err } = readPages(inode, Math.floor(pos / PAGE_SIZE), Math.floor((pos + n - 1) / PAGE_SIZE));
    if (err) {
      const ok = upTo * PAGE_SIZE - pos;
      if (ok <= 0) return err;
      n = ok;
    }
    const r = inode.mapping.read(pos, n, to);
    if (r > 0) {
      iocb.pos += r;
      touchAtime(inode);
    }
    const sbi = sbiOf(inode);
    if (sbi.pagesAdded > SHRINK_AFTER_PAGES) ext4ShrinkCache(sbi);
    return r;
  },
  writeIter(iocb: Kiocb, from: IovIter): number {
    const inode = iocb.file.inode as Ext4Inode;
    if (inode.sb.readonly) return -EROFS;
    if (inode.evicted) return -EROFS;
    if (iocb.flags & O_APPEND) iocb.pos = inode.size;
    if (iocb.flags & O_DIRECT) return directWrite(inode, iocb, from);
    let done = 0;
    while (from.count > 0) {
      let want = Math.min(from.count, WRITE_CHUNK);
      if (iocb.pos + want > inode.sb.maxBytes) {
        want = inode.sb.maxBytes - iocb.pos;
        if (want <= 0) {
          if (done > 0) break;
          return -EFBIG;
        }
      }
      const avail = ext4AllocRange(inode, iocb.pos, want);
      if (avail < 0) {
        if (done > 0) break;
        return avail;
      }
      const n = inode.mapping.write(iocb.pos, avail, from);
      if (n < 0) {
        if (done > 0) break;
        return n;
      }
      if (n === 0) break;
      const end = iocb.pos + n;
      if (end > inode.size) inode.size = end;
      iocb.pos = end;
      done += n;
      if (n < want) break;
    }
    if (done > 0) {
      inode.touchModify();
      // balance_dirty_pages: a writer never holds more than DIRTY_LIMIT_PAGES dirty pages, and
      // the cache it fills is trimmed like a reader's.
      const sbi = sbiOf(inode);
      sbi.pagesAdded += Math.ceil(done / PAGE_SIZE);
      if (inode.mapping.dirty.size > DIRTY_LIMIT_PAGES) {
        const e = ext4WritebackData(inode);
        if (e < 0) return e;
      }
      if (sbi.pagesAdded > SHRINK_AFTER_PAGES) ext4ShrinkCache(sbi);
      if (iocb.flags & O_DSYNC) {
        const e = ext4SyncFile(inode);
        if (e < 0) return e;
      }
    }
    return done;
  },
  llseek: ext4Llseek,
  fallocate: ext4Fallocate,
  fsync(file: File, datasync: boolean): number {
    void datasync; // fdatasync writes the inode too: its size may have changed
    const inode = file.inode as Ext4Inode;
    if (inode.evicted) return 0;
    return ext4SyncFile(inode);
  },
};
