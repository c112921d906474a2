import * as E from '../errno.js';
import { accessOk, copyFromUser, getUser64, putUser64 } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { FMODE_LSEEK, FMODE_PREAD, FMODE_PWRITE, FMODE_STREAM, type File, type Kiocb } from './file.js';
import { IovIter } from './iov_iter.js';
import { MNT_NOATIME, MNT_NODIRATIME, MNT_RELATIME } from './mount.js';
import {
  MAX_RW_COUNT,
  O_APPEND,
  O_NOATIME,
  SEEK_CUR,
  SEEK_DATA,
  SEEK_END,
  SEEK_HOLE,
  SEEK_SET,
  S_ISDIR,
  S_ISREG,
} from './uapi.js';

/**
 * read/write and friends (fs/read_write.c). Every variant builds an IovIter and calls the
 * driver's read_iter/write_iter once; the file position moves only for non-stream files
 * and only by what was transferred. Handlers return a Promise when the driver sleeps.
 */

/** Max iovec entries (UIO_MAXIOV). */
export const UIO_MAXIOV = 1024;

type Result = number | Promise<number>;

/** After a read/write: advance f_pos unless positioned (pread) or a stream. */
function finish(file: File, iocb: Kiocb, r: Result, positioned: boolean): Result {
  const apply = (n: number): number => {
    if (n > 0 && !positioned && !(file.mode & FMODE_STREAM)) file.pos = iocb.pos;
    return n;
  };
  return typeof r === 'number' ? apply(r) : r.then(apply);
}

/**
 * touch_atime / atime_needs_update: a read stamps atime unless O_NOATIME, a noatime (or, for
 * directories, nodiratime) or read-only mount says not to; on relatime mounts only when atime
 * is not newer than mtime/ctime or is a day old.
 */
export function fileAccessed(file: File): void {
  if (file.flags & O_NOATIME) return;
  const inode = file.inode;
  const m = file.path.mnt;
  if (m.readonly || inode.sb.readonly) return;
  if (m.flags & MNT_NOATIME) return;
  if (m.flags & MNT_NODIRATIME && S_ISDIR(inode.mode)) return;
  const now = inode.sb.now();
  const a = inode.atime;
  if (m.flags & MNT_RELATIME) {
    const le = (x: { sec: number; nsec: number }, y: { sec: number; nsec: number }): boolean =>
      x.sec < y.sec || (x.sec === y.sec && x.nsec <= y.nsec);
    if (!le(a, inode.mtime) && !le(a, inode.ctime) && now.sec - a.sec < 24 * 60 * 60) return;
  }
  if (a.sec === now.sec && a.nsec === now.nsec) return;
  inode.atime = now;
}

/** vfs_read on an iterator. `pos` null = use and advance f_pos. */
export function vfsReadIter(file: File, iter: IovIter, pos: number | null): Result {
  if (!file.readable) return -E.EBADF;
  if (S_ISDIR(file.inode.mode)) return -E.EISDIR;
  if (!file.op.readIter) return -E.EINVAL;
  if (iter.count === 0) return 0;
  const iocb: Kiocb = { file, pos: pos ?? (file.mode & FMODE_STREAM ? 0 : file.pos), flags: file.flags };
  const r = finish(file, iocb, file.op.readIter(iocb, iter), pos !== null);
  if (!S_ISREG(file.inode.mode)) return r;
  if (typeof r === 'number') {
    if (r >= 0) fileAccessed(file);
    return r;
  }
  return r.then((n) => {
    if (n >= 0) fileAccessed(file);
    return n;
  });
}

/**
 * file_remove_privs: a write by a caller without CAP_FSETID (not root here) drops setuid, and
 * setgid when group-exec is set, as should_remove_suid decides.
 */
function fileRemovePrivs(file: File, task: Task): void {
  const inode = file.inode;
  if (!S_ISREG(inode.mode) || task.cred.fsuid === 0) return;
  let kill = 0;
  if (inode.mode & 0o4000) kill |= 0o4000;
  if ((inode.mode & 0o2010) === 0o2010) kill |= 0o2000;
  if (kill === 0) return;
  inode.mode &= ~kill;
  inode.touchChange();
}

/** vfs_write on an iterator. `task` (the writer) decides whether set-id bits go. */
export function vfsWriteIter(file: File, iter: IovIter, pos: number | null, task: Task | null = null): Result {
  if (!file.writable) return -E.EBADF;
  if (!file.op.writeIter) return -E.EINVAL;
  if (iter.count === 0 && S_ISREG(file.inode.mode)) return 0;
  if (task) fileRemovePrivs(file, task);
  const iocb: Kiocb = { file, pos: pos ?? (file.mode & FMODE_STREAM ? 0 : file.pos), flags: file.flags };
  return finish(file, iocb, file.op.writeIter(iocb, iter), pos !== null);
}

function clampCount(count: number): number {
  return count > MAX_RW_COUNT ? MAX_RW_COUNT : count;
}

export function sysRead(task: Task, fd: number, buf: number, count: number): Result {
  const f = task.files.get(fd | 0);
  if (!f) return -E.EBADF;
  if (count < 0) return -E.EINVAL;
  return vfsReadIter(f, IovIter.user(task.mm, buf, clampCount(count)), null);
}

export function sysWrite(task: Task, fd: number, buf: number, count: number): Result {
  const f = task.files.get(fd | 0);
  if (!f) return -E.EBADF;
  if (count < 0) return -E.EINVAL;
  return vfsWriteIter(f, IovIter.user(task.mm, buf, clampCount(count)), null, task);
}

export function sysPread64(task: Task, fd: number, buf: number, count: number, pos: number): Result {
  const f = task.files.get(fd | 0);
  if (!f) return -E.EBADF;
  if (pos < 0 || count < 0) return -E.EINVAL;
  if (!f.readable) return -E.EBADF;
  if (!(f.mode & FMODE_PREAD)) return -E.ESPIPE;
  return vfsReadIter(f, IovIter.user(task.mm, buf, clampCount(count)), pos);
}

export function sysPwrite64(task: Task, fd: number, buf: number, count: number, pos: number): Result {
  const f = task.files.get(fd | 0);
  if (!f) return -E.EBADF;
  if (pos < 0 || count < 0) return -E.EINVAL;
  if (!f.writable) return -E.EBADF;
  if (!(f.mode & FMODE_PWRITE)) return -E.ESPIPE;
  return vfsWriteIter(f, IovIter.user(task.mm, buf, clampCount(count)), pos, task);
}

/**
 * import_iovec: read `cnt` struct iovec {void *base; size_t len} from user memory.
 * Lengths that are negative as ssize_t → EINVAL; a segment outside user space → EFAULT
 * (access_ok in __import_iovec); the total is clamped to MAX_RW_COUNT.
 */
export function importIovec(task: Task, uiov: number, cnt: number): IovIter | number {
  if (cnt < 0 || cnt > UIO_MAXIOV) return -E.EINVAL;
  if (cnt === 0) return IovIter.userVec(task.mm, [], []);
  const raw = copyFromUser(task.mm, uiov, cnt * 16);
  if (typeof raw === 'number') return -E.EFAULT;
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const bases: number[] = [];
  const lens: number[] = [];
  let total = 0;
  for (let i = 0; i < cnt; i++) {
    const base = v.getUint32(i * 16, true) + v.getUint32(i * 16 + 4, true) * 4294967296;
    const lenHi = v.getUint32(i * 16 + 12, true);
    if (lenHi & 0x80000000) return -E.EINVAL;
    let len = v.getUint32(i * 16 + 8, true) + lenHi * 4294967296;
    if (total + len > MAX_RW_COUNT) len = MAX_RW_COUNT - total;
    if (len > 0 && !accessOk(base, len)) return -E.EFAULT;
    total += len;
    bases.push(base);
    lens.push(len);
  }
  return IovIter.userVec(task.mm, bases, lens);
}

function doReadv(task: Task, fd: number, uiov: number, cnt: number, pos: number | null): Result {
  const f = task.files.get(fd | 0);
  if (!f) return -E.EBADF;
  if (pos !== null) {
    if (pos < 0) return -E.EINVAL;
    if (!f.readable) return -E.EBADF;
    if (!(f.mode & FMODE_PREAD)) return -E.ESPIPE;
  }
  const it = importIovec(task, uiov, cnt | 0);
  if (typeof it === 'number') return it;
  return vfsReadIter(f, it, pos);
}

function doWritev(task: Task, fd: number, uiov: number, cnt: number, pos: number | null): Result {
  const f = task.files.get(fd | 0);
  if (!f) return -E.EBADF;
  if (pos !== null) {
    if (pos < 0) return -E.EINVAL;
    if (!f.writable) return -E.EBADF;
    if (!(f.mode & FMODE_PWRITE)) return -E.ESPIPE;
  }
  const it = importIovec(task, uiov, cnt | 0);
  if (typeof it === 'number') return it;
  return vfsWriteIter(f, it, pos, task);
}

// preadv2/pwritev2 flags (RWF_* in linux/fs.h).
export const RWF_HIPRI = 0x1;
export const RWF_DSYNC = 0x2;
export const RWF_SYNC = 0x4;
export const RWF_NOWAIT = 0x8;
export const RWF_APPEND = 0x10;
export const RWF_NOAPPEND = 0x20;
const RWF_SUPPORTED = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND | RWF_NOAPPEND;

/**
 * preadv2(fd, iov, cnt, pos_l, pos_h, flags) (do_preadv/do_readv with kiocb_set_rw_flags):
 * pos -1 means the file position, as readv. Unknown flags → EOPNOTSUPP; RWF_NOWAIT reads of
 * a stream with no data would block → EAGAIN is left to the driver (O_NONBLOCK semantics).
 */
export function sysPreadv2(
  t: Task,
  fd: number,
  iov: number,
  cnt: number,
  pos: number,
  _posH: number,
  flags: number,
): Result {
  // Write-only flags (RWF_APPEND, RWF_NOAPPEND) are accepted on reads too, as kiocb_set_rw_flags does.
  if (flags & ~RWF_SUPPORTED) return -E.EOPNOTSUPP;
  return doReadv(t, fd, iov, cnt, pos === -1 ? null : pos);
}

/** pwritev2: as pwritev, plus RWF_APPEND (write at EOF for this call) and RWF_NOAPPEND. */
export function sysPwritev2(
  t: Task,
  fd: number,
  iov: number,
  cnt: number,
  pos: number,
  _posH: number,
  flags: number,
): Result {
  if (flags & ~RWF_SUPPORTED) return -E.EOPNOTSUPP;
  const f = t.files.get(fd | 0);
  if (!f) return -E.EBADF;
  if (!(flags & (RWF_APPEND | RWF_NOAPPEND))) return doWritev(t, fd, iov, cnt, pos === -1 ? null : pos);
  // RWF_NOAPPEND on an O_APPEND file is refused (EINVAL: kiocb_set_rw_flags, IOCB_APPEND set by the file).
  if (flags & RWF_NOAPPEND && f.flags & O_APPEND) return -E.EINVAL;
  const saved = f.flags;
  if (flags & RWF_APPEND) f.flags |= O_APPEND;
  try {
    return doWritev(t, fd, iov, cnt, pos === -1 ? null : pos);
  } finally {
    f.flags = saved;
  }
}

export const sysReadv = (t: Task, fd: number, iov: number, cnt: number): Result => doReadv(t, fd, iov, cnt, null);
export const sysWritev = (t: Task, fd: number, iov: number, cnt: number): Result => doWritev(t, fd, iov, cnt, null);
/** preadv(fd, iov, cnt, pos_l, pos_h): on 64-bit the offset is all in pos_l. */
export const sysPreadv = (t: Task, fd: number, iov: number, cnt: number, pos: number): Result =>
  doReadv(t, fd, iov, cnt, pos);
export const sysPwritev = (t: Task, fd: number, iov: number, cnt: number, pos: number): Result =>
  doWritev(t, fd, iov, cnt, pos);

/**
 * generic_file_llseek_size (+ SEEK_DATA/SEEK_HOLE with the whole file as data, as for
 * filesystems without holes). Directories accept SET/CUR only (dcache_dir_lseek).
 */
export function vfsLlseek(file: File, offset: number, whence: number): number {
  if (whence < SEEK_SET || whence > SEEK_HOLE) return -E.EINVAL;
  if (file.op.llseek) return file.op.llseek(file, offset, whence);
  return genericFileLlseek(file, offset, whence);
}

/**
 * generic_file_llseek_size: SET/CUR/END against i_size, and SEEK_DATA/SEEK_HOLE for a file with
 * no holes; a filesystem's own llseek (ext4_llseek) calls it for what it does not handle itself.
 */
export function genericFileLlseek(file: File, offset: number, whence: number): number {
  if (!(file.mode & FMODE_LSEEK) || file.mode & FMODE_STREAM) return -E.ESPIPE;
  const isDir = S_ISDIR(file.inode.mode);
  const size = file.inode.size;
  let pos: number;
  switch (whence) {
    case SEEK_SET:
      pos = offset;
      break;
    case SEEK_CUR:
      pos = file.pos + offset;
      break;
    case SEEK_END:
      if (isDir) return -E.EINVAL;
      pos = size + offset;
      break;
    case SEEK_DATA:
      if (isDir) return -E.EINVAL;
      if (offset < 0 || offset >= size) return -E.ENXIO;
      pos = offset;
      break;
    default: // SEEK_HOLE
      if (isDir) return -E.EINVAL;
      if (offset < 0 || offset >= size) return -E.ENXIO;
      pos = size;
  }
  if (pos < 0 || pos > file.inode.sb.maxBytes) return -E.EINVAL;
  if (pos !== file.pos) {
    file.pos = pos;
    if (isDir && pos === 0) file.dirSnapshot = null;
  }
  return pos;
}

export function sysLseek(task: Task, fd: number, offset: number, whence: number): number {
  const f = task.files.get(fd | 0);
  if (!f) return -E.EBADF;
  return vfsLlseek(f, offset, whence >>> 0);
}

/** Run a generator of steps that may yield Promises: synchronous until something sleeps. */
function drive(gen: Generator<Result, number, number>): Result {
  let r = gen.next(0);
  while (!r.done) {
    const v = r.value;
    if (typeof v !== 'number') {
      return (async () => {
        let x = await v;
        let rr = gen.next(x);
        while (!rr.done) {
          const vv = rr.value;
          x = typeof vv === 'number' ? vv : await vv;
          rr = gen.next(x);
        }
        return rr.value;
      })();
    }
    r = gen.next(v);
  }
  return r.value;
}

const SENDFILE_CHUNK = 65536;

/**
 * sendfile(out_fd, in_fd, *offset, count) (do_sendfile): copy through a kernel buffer.
 * With an offset pointer the input position is read and written back there and in_fd's
 * own position does not move.
 */
export function sysSendfile(task: Task, outFd: number, inFd: number, uoff: number, count: number): Result {
  const inF = task.files.get(inFd | 0);
  const outF = task.files.get(outFd | 0);
  if (!inF || !inF.readable) return -E.EBADF;
  if (!outF || !outF.writable) return -E.EBADF;
  if (!inF.op.readIter || S_ISDIR(inF.inode.mode)) return -E.EINVAL;
  if (!outF.op.writeIter) return -E.EINVAL;
  if (outF.flags & O_APPEND) return -E.EINVAL; // do_splice_direct refuses appending outputs
  let pos: number | null = null;
  if (uoff !== 0) {
    if (!(inF.mode & FMODE_PREAD)) return -E.ESPIPE;
    const p = getUser64(task.mm, uoff);
    if (p === null) return -E.EFAULT;
    if (p < 0) return -E.EINVAL;
    pos = p;
  }
  if (count < 0) return -E.EINVAL;
  const total = clampCount(count);
  function* steps(): Generator<Result, number, number> {
    let done = 0;
    const buf = new Uint8Array(Math.min(total, SENDFILE_CHUNK));
    while (done < total) {
      const want = Math.min(buf.length, total - done);
      const n = yield vfsReadIter(inF!, IovIter.kernel(buf.subarray(0, want)), pos);
      if (n < 0) {
        if (done === 0) return n;
        break;
      }
      if (n === 0) break;
      const w = yield vfsWriteIter(outF!, IovIter.kernel(buf.subarray(0, n)), null);
      if (w < 0) {
        if (done === 0) return w;
        break;
      }
      if (pos !== null) pos += w;
      else if (w < n && !(inF!.mode & FMODE_STREAM)) inF!.pos -= n - w; // give back what was not written
      done += w;
      if (w < n) break;
    }
    if (pos !== null && putUser64(task.mm, uoff, pos) < 0) return -E.EFAULT;
    return done;
  }
  return drive(steps());
}

/**
 * copy_file_range(fd_in, *off_in, fd_out, *off_out, len, flags) (vfs_copy_file_range with the
 * splice fallback): regular files on the same filesystem; offsets from the pointers (written
 * back) or the file positions (advanced).
 */
export function sysCopyFileRange(
  task: Task,
  fdIn: number,
  uoffIn: number,
  fdOut: number,
  uoffOut: number,
  len: number,
  flags: number,
): Result {
  if (flags !== 0) return -E.EINVAL;
  const inF = task.files.get(fdIn | 0);
  const outF = task.files.get(fdOut | 0);
  if (!inF || !outF) return -E.EBADF;
  // generic_file_rw_checks
  if (!inF.readable || !outF.writable) return -E.EBADF;
  if (outF.flags & O_APPEND) return -E.EBADF;
  if (S_ISDIR(inF.inode.mode) || S_ISDIR(outF.inode.mode)) return -E.EISDIR;
  if (!S_ISREG(inF.inode.mode) || !S_ISREG(outF.inode.mode)) return -E.EINVAL;
  if (inF.inode.sb !== outF.inode.sb) return -E.EXDEV;
  let posIn = inF.pos;
  let posOut = outF.pos;
  if (uoffIn !== 0) {
    const p = getUser64(task.mm, uoffIn);
    if (p === null) return -E.EFAULT;
    posIn = p;
  }
  if (uoffOut !== 0) {
    const p = getUser64(task.mm, uoffOut);
    if (p === null) return -E.EFAULT;
    posOut = p;
  }
  if (posIn < 0 || posOut < 0 || len < 0) return -E.EINVAL;
  // generic_copy_file_checks: the copy is shortened to end of file first, then its ranges may
  // not overlap within one file.
  let total = Math.min(clampCount(len), Math.max(0, inF.inode.size - posIn));
  if (inF.inode === outF.inode && posOut + total > posIn && posOut < posIn + total) return -E.EINVAL;
  if (total === 0) return 0;
  const buf = new Uint8Array(Math.min(total, SENDFILE_CHUNK));
  let done = 0;
  while (total > 0) {
    const want = Math.min(buf.length, total);
    const n = vfsReadIter(inF, IovIter.kernel(buf.subarray(0, want)), posIn);
    if (typeof n !== 'number') break; // a regular file never sleeps here
    if (n < 0) {
      if (done === 0) return n;
      break;
    }
    if (n === 0) break;
    const w = vfsWriteIter(outF, IovIter.kernel(buf.subarray(0, n)), posOut);
    if (typeof w !== 'number') break;
    if (w < 0) {
      if (done === 0) return w;
      break;
    }
    posIn += w;
    posOut += w;
    done += w;
    total -= w;
    if (w < n) break;
  }
  if (uoffIn !== 0) {
    if (putUser64(task.mm, uoffIn, posIn) < 0) return -E.EFAULT;
  } else inF.pos = posIn;
  if (uoffOut !== 0) {
    if (putUser64(task.mm, uoffOut, posOut) < 0) return -E.EFAULT;
  } else outF.pos = posOut;
  return done;
}
