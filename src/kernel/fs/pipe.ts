/**
 * Pipes (fs/pipe.c): a pipe_inode_info with a ring of page-sized pipe_buffers shared by a
 * read end and a write end. Anonymous pipes (pipe2) live on the internal pipefs and show as
 * `pipe:[ino]`; named FIFOs (fifo.ts) attach the same object to a filesystem inode.
 *
 * Blocking follows pipe_read/pipe_write: a read sleeps while the ring is empty and writers
 * exist, returns 0 when none do; a write sleeps while the ring is full and readers exist, and
 * raises SIGPIPE/-EPIPE when none do. Sleeping goes through sched/wait.ts so a signal ends it
 * with -ERESTARTSYS when nothing was transferred yet, or with the partial count.
 */
import * as E from '../errno.js';
import { putUser32 } from '../mm/uaccess.js';
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched/task.js';
import { sleepOn, WaitQueue } from '../sched/wait.js';
import { sendSignal } from '../signal/signal.js';
import { SIGPIPE } from '../signal/signum.js';
import { Dentry } from './dcache.js';
import { File, FMODE_READ, FMODE_STREAM, FMODE_WRITE, type FileOperations, type Kiocb } from './file.js';
import { Inode } from './inode.js';
import type { IovIter } from './iov_iter.js';
import { Mount } from './mount.js';
import { getAnonDev, SuperBlock } from './super.js';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, waitQueuePollAdd } from './select.js';
import { FIONREAD, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_RDONLY, O_WRONLY, S_IFIFO } from './uapi.js';

export const PAGE_SIZE = 4096;
/** Writes up to PIPE_BUF bytes are atomic (include/uapi/linux/limits.h). */
export const PIPE_BUF = 4096;
/** PIPE_DEF_BUFFERS: 16 pages = 64 KiB. */
export const PIPE_DEF_BUFFERS = 16;
/** /proc/sys/fs/pipe-max-size default (pipe_max_size): 1 MiB. */
export const PIPE_MAX_SIZE = 1024 * 1024;
/** PIPEFS_MAGIC for statfs. */
const PIPEFS_MAGIC = 0x50495045;
/** O_NOTIFICATION_PIPE (= O_EXCL): watch_queue pipes are not supported. */
const O_NOTIFICATION_PIPE = 0o200;

/** struct pipe_buffer: a page, and the valid bytes in it [offset, offset+len). */
interface PipeBuffer {
  page: Uint8Array;
  offset: number;
  len: number;
  /** PIPE_BUF_FLAG_CAN_MERGE: later small writes may append into this page. */
  canMerge: boolean;
  /** PIPE_BUF_FLAG_PACKET: one packet of an O_DIRECT pipe. */
  packet: boolean;
}

/** struct pipe_inode_info. `head`/`tail` are free-running counters; slot = counter % ringSize. */
export class PipeInodeInfo {
  readonly rdWait = new WaitQueue();
  readonly wrWait = new WaitQueue();
  head = 0;
  tail = 0;
  ringSize = PIPE_DEF_BUFFERS;
  bufs: (PipeBuffer | null)[] = new Array<PipeBuffer | null>(PIPE_DEF_BUFFERS).fill(null);
  readers = 0;
  writers = 0;
  /** Open files of either kind (pipe->files): the pipe goes away when it drops to 0. */
  files = 0;
  /** Opens for reading/writing ever (r_counter/w_counter): fifo_open's wait_for_partner watches them. */
  rCounter = 0;
  wCounter = 0;

  get occupancy(): number {
    return this.head - this.tail;
  }
  get empty(): boolean {
    return this.head === this.tail;
  }
  get full(): boolean {
    return this.head - this.tail >= this.ringSize;
  }

  /** Bytes queued (FIONREAD). */
  get bytes(): number {
    let n = 0;
    for (let i = this.tail; i < this.head; i++) n += this.bufs[i % this.ringSize]!.len;
    return n;
  }

  /** Wake everything that waits on this pipe: readers, writers, pollers, fifo openers. */
  wakeAll(): void {
    this.rdWait.wakeUp();
    this.wrWait.wakeUp();
  }

  /**
   * pipe_resize_ring: change the number of slots. -EBUSY when the content does not fit.
   * The buffers keep their order, re-laid from slot 0.
   */
  resize(nrSlots: number): number {
    const n = this.occupancy;
    if (nrSlots < n) return -E.EBUSY;
    const bufs = new Array<PipeBuffer | null>(nrSlots).fill(null);
    for (let i = 0; i < n; i++) bufs[i] = this.bufs[(this.tail + i) % this.ringSize]!;
    this.bufs = bufs;
    this.tail = 0;
    this.head = n;
    this.ringSize = nrSlots;
    this.wakeAll();
    return 0;
  }

  /** The buffer at the tail, or null when empty. */
  tailBuf(): PipeBuffer | null {
    return this.empty ? null : this.bufs[this.tail % this.ringSize]!;
  }
}

/** The pipe behind a File of pipefifo_fops. */
export function pipeOf(file: File): PipeInodeInfo | null {
  return file.private_ instanceof PipeInodeInfo ? file.private_ : null;
}

/** Is this a pipe or FIFO file (get_pipe_info)? */
export function isPipeFile(file: File): boolean {
  return pipeOf(file) !== null;
}

function isPacketized(file: File): boolean {
  return (file.flags & O_DIRECT) !== 0;
}

/** pipe_read. */
function pipeRead(iocb: Kiocb, to: IovIter, task: Task | null): number | Promise<number> {
  const file = iocb.file;
  const pipe = pipeOf(file)!;
  let total = to.count;
  if (total === 0) return 0;
  let ret = 0;
  const step = (): number | null => {
    for (;;) {
      const buf = pipe.tailBuf();
      if (buf) {
        let chars = Math.min(buf.len, total);
        const wasFull = pipe.full;
        const n = to.copyTo(buf.page.subarray(buf.offset, buf.offset + chars));
        if (n < 0) return ret > 0 ? ret : n;
        if (n < chars) {
          // A fault part way: what was copied counts (copy_page_to_iter's short copy → -EFAULT only when nothing).
          chars = n;
          if (n === 0) return ret > 0 ? ret : -E.EFAULT;
        }
        ret += chars;
        buf.offset += chars;
        buf.len -= chars;
        if (buf.packet) {
          // O_DIRECT: one read takes one packet; the rest of the packet is discarded.
          total = chars;
          buf.len = 0;
        }
        if (buf.len === 0) {
          pipe.bufs[pipe.tail % pipe.ringSize] = null;
          pipe.tail++;
        }
        total -= chars;
        if (wasFull || pipe.empty) pipe.wrWait.wakeUp();
        if (total === 0) return ret;
        if (!pipe.empty) continue;
      }
      if (!pipe.writers) return ret;
      if (ret) return ret;
      if (iocb.flags & O_NONBLOCK) return -E.EAGAIN;
      return null; // must sleep
    }
  };
  const r = step();
  if (r !== null) return r;
  if (!task) return -E.EAGAIN;
  return (async () => {
    for (;;) {
      const s = await sleepOn(task, pipe.rdWait);
      if (s !== 0) return ret > 0 ? ret : s;
      const r2 = step();
      if (r2 !== null) return r2;
    }
  })();
}

/** pipe_write. */
function pipeWrite(iocb: Kiocb, from: IovIter, task: Task | null): number | Promise<number> {
  const file = iocb.file;
  const pipe = pipeOf(file)!;
  const totalLen = from.count;
  if (totalLen === 0) return 0;
  let ret = 0;
  const epipe = (): number => {
    if (task) sendSignal(task, SIGPIPE, false);
    return ret > 0 ? ret : -E.EPIPE;
  };
  if (!pipe.readers) return epipe();
  const packet = isPacketized(file);
  // Merge the sub-page tail of the write into the last buffer if it fits whole (pipe_write).
  const chars0 = totalLen & (PAGE_SIZE - 1);
  if (chars0 && !pipe.empty && !packet) {
    const last = pipe.bufs[(pipe.head - 1) % pipe.ringSize]!;
    const end = last.offset + last.len;
    if (last.canMerge && end + chars0 <= PAGE_SIZE) {
      const data = from.copyFrom(chars0);
      if (typeof data === 'number') return data;
      last.page.set(data, end);
      last.len += data.length;
      ret = data.length;
      pipe.rdWait.wakeUp();
      if (from.count === 0) return ret;
    }
  }
  const step = (): number | null => {
    for (;;) {
      if (!pipe.readers) return epipe();
      if (!pipe.full) {
        const want = Math.min(PAGE_SIZE, from.count);
        const data = from.copyFrom(want);
        if (typeof data === 'number') return ret > 0 ? ret : data;
        if (data.length === 0) return ret > 0 ? ret : -E.EFAULT;
        const page = new Uint8Array(PAGE_SIZE);
        page.set(data);
        pipe.bufs[pipe.head % pipe.ringSize] = {
          page,
          offset: 0,
          len: data.length,
          canMerge: !packet,
          packet,
        };
        pipe.head++;
        ret += data.length;
        pipe.rdWait.wakeUp();
        if (from.count === 0) return ret;
        if (data.length < want) return ret; // a fault part way: return what went in
        continue;
      }
      if (iocb.flags & O_NONBLOCK) return ret > 0 ? ret : -E.EAGAIN;
      return null;
    }
  };
  const r = step();
  if (r !== null) {
    if (r > 0) file.inode.touchModify();
    return r;
  }
  if (!task) return ret > 0 ? ret : -E.EAGAIN;
  return (async () => {
    for (;;) {
      const s = await sleepOn(task, pipe.wrWait);
      if (s !== 0) return ret > 0 ? ret : s;
      const r2 = step();
      if (r2 !== null) {
        if (r2 > 0) file.inode.touchModify();
        return r2;
      }
    }
  })();
}

/** pipe_poll. */
export function pipePoll(file: File): number {
  const pipe = pipeOf(file);
  if (!pipe) return POLLERR;
  let mask = 0;
  if (file.mode & FMODE_READ) {
    if (!pipe.empty) mask |= POLLIN | POLLRDNORM;
    // A FIFO reader that never saw a writer is not hung up (f_version = w_counter at open).
    if (!pipe.writers && pipeVersion(file) !== pipe.wCounter) mask |= POLLHUP;
  }
  if (file.mode & FMODE_WRITE) {
    if (!pipe.full) mask |= POLLOUT | POLLWRNORM;
    if (!pipe.readers) mask |= POLLERR;
  }
  return mask;
}

/** f_version of a pipe file (the w_counter a nonblocking FIFO reader saw at open). */
const versions = new WeakMap<File, number>();
function pipeVersion(file: File): number {
  return versions.get(file) ?? 0;
}
export function setPipeVersion(file: File, v: number): void {
  versions.set(file, v);
}

/** poll_wait on rd_wait and wr_wait: resolves at the next change. */
function pipePollWait(file: File): Promise<void> {
  const pipe = pipeOf(file);
  if (!pipe) return new Promise<void>(() => {});
  return new Promise<void>((resolve) => {
    const s = {
      wake(): void {
        pipe.rdWait.remove(s);
        pipe.wrWait.remove(s);
        resolve();
      },
    };
    pipe.rdWait.add(s);
    pipe.wrWait.add(s);
  });
}

/**
 * pollAdd (poll_wait on rd_wait and wr_wait with a persistent entry, for epoll and poll): a
 * wake-up of rd_wait concerns readers (key EPOLLIN, as pipe_write's wake_up_interruptible_sync_poll),
 * one of wr_wait writers (key EPOLLOUT, as pipe_read's). The last writer or reader going away wakes
 * both queues, so the hang-up reaches the other side's items as well.
 */
function pipePollAdd(file: File, cb: (key?: number) => void): () => void {
  const pipe = pipeOf(file);
  if (!pipe) return () => {};
  return waitQueuePollAdd([pipe.rdWait, pipe.wrWait], [POLLIN | POLLRDNORM, POLLOUT | POLLWRNORM], cb);
}

/** pipe_release: drop this end; the other side sees EOF / EPIPE. */
function pipeRelease(file: File): void {
  const pipe = pipeOf(file);
  if (!pipe) return;
  if (file.mode & FMODE_READ) pipe.readers--;
  if (file.mode & FMODE_WRITE) pipe.writers--;
  pipe.files--;
  pipe.wakeAll();
  if (pipe.files === 0) onPipeFree.get(pipe)?.();
}

/** What to do when the last file of a pipe goes (a FIFO detaches from its inode). */
export const onPipeFree = new WeakMap<PipeInodeInfo, () => void>();

/** pipe_ioctl: FIONREAD. */
function pipeIoctl(file: File, task: Task, cmd: number, arg: number): number {
  const pipe = pipeOf(file)!;
  if (cmd === FIONREAD) return putUser32(task.mm, arg, pipe.bytes) < 0 ? -E.EFAULT : 0;
  return -E.ENOTTY;
}

/** round_pipe_size: bytes → a power-of-two number of pages; 0 when too large. */
export function roundPipeSize(size: number): number {
  if (size > 2 ** 31) return 0;
  if (size < PAGE_SIZE) return PAGE_SIZE;
  let pages = Math.ceil(size / PAGE_SIZE);
  pages = 2 ** Math.ceil(Math.log2(pages));
  return pages * PAGE_SIZE;
}

/**
 * pipe_fcntl: F_SETPIPE_SZ / F_GETPIPE_SZ. Returns the (new) size in bytes, or -errno:
 * EBADF for non-pipes, EPERM above pipe-max-size without CAP_SYS_RESOURCE, EBUSY when the
 * queued data would not fit.
 */
export function pipeFcntl(task: Task, file: File, set: boolean, arg: number): number {
  const pipe = pipeOf(file);
  if (!pipe) return -E.EBADF;
  if (!set) return pipe.ringSize * PAGE_SIZE;
  // arg is an unsigned int in Linux (pipe_fcntl's `unsigned int arg`).
  const size = roundPipeSize(arg >>> 0);
  if (size === 0) return -E.EINVAL;
  if (size > PIPE_MAX_SIZE && task.cred.euid !== 0) return -E.EPERM;
  const e = pipe.resize(size / PAGE_SIZE);
  return e < 0 ? e : size;
}

/**
 * pipefifo_fops. readIter/writeIter need the task to sleep on; the VFS does not pass it, so
 * they use the kernel's current task (the caller of read/write is always current).
 */
export const pipeFops: FileOperations = {
  readIter(iocb: Kiocb, to: IovIter): number | Promise<number> {
    return pipeRead(iocb, to, currentTask(iocb.file));
  },
  writeIter(iocb: Kiocb, from: IovIter): number | Promise<number> {
    return pipeWrite(iocb, from, currentTask(iocb.file));
  },
  poll: pipePoll,
  pollWait: pipePollWait,
  pollAdd: pipePollAdd,
  release: pipeRelease,
  ioctl: pipeIoctl,
};

/** The kernel a pipe inode belongs to, to find `current`. */
const inodeKernel = new WeakMap<Inode, Kernel>();
export function bindInodeKernel(inode: Inode, kernel: Kernel): void {
  inodeKernel.set(inode, kernel);
}
function currentTask(file: File): Task | null {
  return inodeKernel.get(file.inode)?.current ?? null;
}

/** pipefs: one internal superblock and mount per kernel (pipe_mnt). */
const pipeMounts = new WeakMap<Kernel, Mount>();
function pipeMnt(kernel: Kernel): Mount {
  let m = pipeMounts.get(kernel);
  if (!m) {
    const sb = new SuperBlock({ name: 'pipefs', fsFlags: 0 }, {}, getAnonDev(), {
      realtimeNs: () => kernel.clock.realtimeNs(),
    });
    sb.magic = PIPEFS_MAGIC;
    const rootInode = new Inode(sb, sb.allocIno(), 0o040700, {}, {});
    const root = new Dentry('pipe:', null, rootInode, { dname: () => 'pipe:' });
    sb.root = root;
    m = new Mount(sb, root, 'pipefs', null, null);
    pipeMounts.set(kernel, m);
  }
  return m;
}

/**
 * create_pipe_files: a pipefs inode (S_IFIFO|0600, owned by the caller's fsuid/fsgid) and
 * two files sharing one pipe: [read end, write end]. `flags` may hold O_NONBLOCK and O_DIRECT.
 */
export function createPipeFiles(task: Task, flags: number): [File, File] {
  const mnt = pipeMnt(task.kernel);
  const sb = mnt.sb;
  const inode = new Inode(sb, sb.allocIno(), S_IFIFO | 0o600, {}, pipeFops);
  inode.uid = task.cred.fsuid;
  inode.gid = task.cred.fsgid;
  inode.blocks = 0;
  bindInodeKernel(inode, task.kernel);
  const name = `pipe:[${inode.ino}]`;
  const dentry = new Dentry(name, null, inode, { dname: () => name });
  const path = { mnt, dentry };
  const pipe = new PipeInodeInfo();
  pipe.readers = 1;
  pipe.writers = 1;
  pipe.files = 2;
  pipe.rCounter = 1;
  pipe.wCounter = 1;
  inode.private_ = pipe;
  const rd = new File(path, inode, pipeFops, O_RDONLY | (flags & O_NONBLOCK), FMODE_READ | FMODE_STREAM);
  const wr = new File(path, inode, pipeFops, O_WRONLY | (flags & (O_NONBLOCK | O_DIRECT)), FMODE_WRITE | FMODE_STREAM);
  rd.private_ = pipe;
  wr.private_ = pipe;
  return [rd, wr];
}

/** pipe2(int fds[2], flags). */
export function sysPipe2(task: Task, ufds: number, flags: number): number {
  const fl = flags >>> 0;
  if (fl & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT | O_NOTIFICATION_PIPE)) return -E.EINVAL;
  if (fl & O_NOTIFICATION_PIPE) return -E.ENOPKG;
  const [rd, wr] = createPipeFiles(task, fl);
  const cloexec = (fl & O_CLOEXEC) !== 0;
  const fd0 = task.files.install(rd, cloexec);
  if (fd0 < 0) {
    rd.put();
    wr.put();
    return fd0;
  }
  const fd1 = task.files.install(wr, cloexec);
  if (fd1 < 0) {
    task.files.close(fd0);
    wr.put();
    return fd1;
  }
  if (putUser32(task.mm, ufds, fd0) < 0 || putUser32(task.mm, ufds + 4, fd1) < 0) {
    task.files.close(fd0);
    task.files.close(fd1);
    return -E.EFAULT;
  }
  return 0;
}
