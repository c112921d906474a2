import { EINVAL, ENODEV } from '../errno.js';
import type { Task } from '../sched/task.js';
import type { Inode } from './inode.js';
import { IovIter } from './iov_iter.js';
import { locksRemoveFile } from './locks.js';
import type { Path } from './path.js';
import { O_ACCMODE, O_APPEND, O_PATH, O_RDONLY, O_RDWR, O_WRONLY } from './uapi.js';

/** An I/O request's position and flags (struct kiocb): read_iter/write_iter advance `pos`. */
export interface Kiocb {
  file: File;
  pos: number;
  /** f_flags at the time of the call (O_APPEND, O_NONBLOCK ...). */
  flags: number;
}

/** One directory entry as getdents64 reports it (what dir_emit passes). */
export interface DirEntry {
  name: string;
  ino: number;
  /** DT_* type. */
  type: number;
}

/**
 * File operations (struct file_operations). Results are counts or 0, or -errno; reads and
 * writes that must wait (a tty with no input) return a Promise, and the task sleeps.
 */
export interface FileOperations {
  /** Called by open after the File is built (do_dentry_open). May replace file.op (chrdev_open). */
  open?(inode: Inode, file: File, task: Task | null): number;
  /** Last reference gone (fput → __fput). */
  release?(file: File): void;
  /**
   * close(2) only, after `release` ran for the last reference: a Promise the syscall sleeps on
   * before it returns, or null. Linux's __fput runs from task_work before close(2) returns to
   * user space, so a release that sleeps (tcp_close's SO_LINGER wait) delays close(2); exit(2)
   * and the other close paths drop files without it (the kernel keeps release synchronous).
   */
  closeWait?(file: File, task: Task): Promise<void> | null;
  readIter?(iocb: Kiocb, to: IovIter): number | Promise<number>;
  writeIter?(iocb: Kiocb, from: IovIter): number | Promise<number>;
  /** Custom lseek; default is generic_file_llseek on i_size (or no_llseek for streams). */
  llseek?(file: File, offset: number, whence: number): number;
  /** Directory listing (iterate_shared). The VFS adds "." and ".." itself. */
  iterate?(file: File): DirEntry[] | number;
  ioctl?(file: File, task: Task, cmd: number, arg: number): number | Promise<number>;
  fsync?(file: File, datasync: boolean): number;
  /**
   * fallocate(2) after the VFS checks (vfs_fallocate): `mode` FALLOC_FL_* (0, KEEP_SIZE,
   * PUNCH_HOLE|KEEP_SIZE, ...). 0 or -errno; a mode the filesystem cannot do is -EOPNOTSUPP.
   */
  fallocate?(file: File, mode: number, offset: number, len: number): number;
  /** Readiness (f_op->poll): POLLIN/POLLOUT/... now. Without it a file is always ready (DEFAULT_POLLMASK). */
  poll?(file: File): number;
  /** Resolves when poll() may have changed (the wait queue poll_wait registers on). */
  pollWait?(file: File): Promise<void>;
  /**
   * Register a wake callback on the file's wait queue(s) (poll_wait's poll_table queue_proc:
   * __pollwait for poll/select, ep_ptable_queue_proc for epoll). `cb` runs synchronously at every
   * wake-up that may change poll() until the returned remover is called; `key` is the poll mask
   * the wake-up concerns (wake_up_poll's key; 0 or undefined = anything), so epoll can skip
   * wake-ups that cannot matter to an item (ep_poll_callback). Preferred over pollWait when present
   * (fs/select.ts waitQueuePollAdd builds one on WaitQueues).
   */
  pollAdd?(file: File, cb: (key?: number) => void): () => void;
  /**
   * The sleeping part of an open (fifo_open's wait_for_partner), run by openat after `open`
   * built the File: 0 or -errno (then the opener drops the File), possibly after sleeping.
   */
  openWait?(file: File, task: Task): number | Promise<number>;
}

// f_mode bits (FMODE_* in include/linux/fs.h).
export const FMODE_READ = 0x1;
export const FMODE_WRITE = 0x2;
export const FMODE_LSEEK = 0x4;
export const FMODE_PREAD = 0x8;
export const FMODE_PWRITE = 0x10;
export const FMODE_EXEC = 0x20;
export const FMODE_PATH = 0x4000;
export const FMODE_ATOMIC_POS = 0x8000;
/** A stream: no position at all (FMODE_STREAM), like ttys and pipes. */
export const FMODE_STREAM = 0x200000;

/** Turn O_ACCMODE into FMODE_READ/WRITE (OPEN_FMODE). */
export function openFmode(flags: number): number {
  if (flags & O_PATH) return FMODE_PATH;
  const acc = flags & O_ACCMODE;
  if (acc === O_RDONLY) return FMODE_READ;
  if (acc === O_WRONLY) return FMODE_WRITE;
  if (acc === O_RDWR) return FMODE_READ | FMODE_WRITE;
  return 0; // O_ACCMODE 3: neither (Linux keeps it for ioctl-only opens)
}

/**
 * An open file description (struct file): shared by every fd that dup() or fork() made
 * from the same open(). Holds the position, the open flags and the operations.
 */
export class File {
  pos = 0;
  /** Reference count (f_count): fds and other holders. `release` runs when it reaches 0. */
  count = 1;
  /** Driver data (private_data). */
  private_: unknown = null;
  /** Directory listing snapshot taken when getdents64 starts at position 0. */
  dirSnapshot: DirEntry[] | null = null;

  constructor(
    public path: Path,
    public inode: Inode,
    public op: FileOperations,
    /** Open flags (f_flags), without O_CREAT/O_EXCL/O_NOCTTY/O_TRUNC, as Linux keeps them. */
    public flags: number,
    public mode: number,
  ) {
    path.mnt.openFiles++;
  }

  get readable(): boolean {
    return (this.mode & FMODE_READ) !== 0;
  }
  get writable(): boolean {
    return (this.mode & FMODE_WRITE) !== 0;
  }

  /** get_file. */
  get(): this {
    this.count++;
    return this;
  }

  /** Counted as a writer of its mount (mnt_want_write at open; remount ro and umount check it). */
  mntWriter = false;

  /** fput: drop a reference; the last one releases the file (__fput: locks, driver, mount). */
  put(): void {
    if (--this.count !== 0) return;
    locksRemoveFile(this);
    this.op.release?.(this);
    const mnt = this.path.mnt;
    if (this.mntWriter) {
      mnt.writers--;
      this.mntWriter = false;
    }
    mnt.openFiles--;
    if (mnt.openFiles <= 0) mnt.onIdle?.();
  }

  /**
   * Read into a kernel buffer at `pos` without moving the file position (kernel_read):
   * what the page-fault path of a file mapping and execve use. Returns bytes read or -errno.
   * Files whose reads would sleep cannot be mapped: -ENODEV.
   */
  pread(buf: Uint8Array, pos: number): number {
    if (!this.op.readIter) return -EINVAL;
    // A stream read may sleep and would consume input nobody waits for.
    if (this.mode & FMODE_STREAM) return -ENODEV;
    const iocb: Kiocb = { file: this, pos, flags: this.flags };
    let done = 0;
    // Regular-file reads may return short (a chunked read_iter); loop to fill the buffer or hit EOF.
    while (done < buf.length) {
      const r = this.op.readIter(iocb, IovIter.kernel(buf.subarray(done)));
      if (typeof r !== 'number') return -ENODEV;
      if (r < 0) return done > 0 ? done : r;
      if (r === 0) break;
      done += r;
    }
    return done;
  }

  /**
   * Write a kernel buffer at `pos` without moving the file position (kernel_write): the
   * write-back of MAP_SHARED pages (msync, munmap). Returns bytes written or -errno.
   */
  pwrite(buf: Uint8Array, pos: number): number {
    if (!this.op.writeIter) return -EINVAL;
    if (this.mode & FMODE_STREAM) return -ENODEV;
    // Not O_APPEND: a mapping writes back at its own offsets.
    const iocb: Kiocb = { file: this, pos, flags: this.flags & ~O_APPEND };
    const r = this.op.writeIter(iocb, IovIter.kernel(buf));
    return typeof r === 'number' ? r : -ENODEV;
  }
}
