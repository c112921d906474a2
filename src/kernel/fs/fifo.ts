/**
 * Named pipes (fs/pipe.c: fifo_open, pipefifo_fops for S_IFIFO inodes). A FIFO inode on any
 * filesystem gets a pipe_inode_info on its first open and loses it when the last opener
 * closes (the data goes with it, as in Linux).
 *
 * Open rules (fifo_open): O_RDONLY waits for a writer unless O_NONBLOCK; O_WRONLY waits for a
 * reader, and with O_NONBLOCK fails with ENXIO when there is none; O_RDWR never waits. The
 * waiting part runs after the File is built, through FileOperations.openWait, because open
 * itself is synchronous in our VFS.
 */
import * as E from '../errno.js';
import type { Task } from '../sched/task.js';
import { sleepOn } from '../sched/wait.js';
import { FMODE_LSEEK, FMODE_PREAD, FMODE_PWRITE, FMODE_READ, FMODE_STREAM, FMODE_WRITE } from './file.js';
import type { File, FileOperations } from './file.js';
import type { Inode } from './inode.js';
import { bindInodeKernel, onPipeFree, pipeFops, PipeInodeInfo, pipeOf, setPipeVersion } from './pipe.js';
import { O_NONBLOCK } from './uapi.js';

/** inode->i_pipe for FIFO inodes (kept outside the inode so filesystems' private data stays theirs). */
const iPipe = new WeakMap<Inode, PipeInodeInfo>();

/** The pipe of a FIFO inode, if it is open (for tests and /proc). */
export function fifoPipe(inode: Inode): PipeInodeInfo | null {
  return iPipe.get(inode) ?? null;
}

/** What the open still has to wait for: the counter value that must change (wait_for_partner). */
const pendingWait = new WeakMap<File, { counter: 'r' | 'w'; seen: number }>();

/** fifo_open: attach the pipe, count the opener, decide whether it must wait for a partner. */
function fifoOpen(inode: Inode, file: File, task: Task | null): number {
  const mode = file.mode & (FMODE_READ | FMODE_WRITE);
  if (mode === 0) return -E.EINVAL;
  const nonblock = (file.flags & O_NONBLOCK) !== 0;
  let pipe = iPipe.get(inode);
  // O_WRONLY|O_NONBLOCK with no reader: ENXIO before anything is counted.
  if (mode === FMODE_WRITE && nonblock && !(pipe && pipe.readers)) return -E.ENXIO;
  if (!pipe) {
    const p = new PipeInodeInfo();
    iPipe.set(inode, p);
    onPipeFree.set(p, () => {
      if (iPipe.get(inode) === p) iPipe.delete(inode);
    });
    pipe = p;
  }
  if (task) bindInodeKernel(inode, task.kernel);
  file.op = fifoPipeFops;
  file.private_ = pipe;
  // stream_open: no seeking, no positioned I/O.
  file.mode = (file.mode & ~(FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE)) | FMODE_STREAM;
  pipe.files++;
  if (mode & FMODE_READ) {
    pipe.readers++;
    pipe.rCounter++;
  }
  if (mode & FMODE_WRITE) {
    pipe.writers++;
    pipe.wCounter++;
  }
  // wake_up_partner: openers waiting for the other side re-check.
  pipe.wakeAll();
  if (mode === FMODE_READ) {
    if (!pipe.writers) {
      if (nonblock) setPipeVersion(file, pipe.wCounter);
      else pendingWait.set(file, { counter: 'w', seen: pipe.wCounter });
    }
  } else if (mode === FMODE_WRITE) {
    if (!pipe.readers) pendingWait.set(file, { counter: 'r', seen: pipe.rCounter });
  }
  return 0;
}

/**
 * wait_for_partner: sleep until the other side's counter moves. -ERESTARTSYS when a signal
 * comes first; the caller then drops the file, which undoes the counts (fifo_open's err_rd/err_wr).
 */
function fifoOpenWait(file: File, task: Task): number | Promise<number> {
  const w = pendingWait.get(file);
  if (!w) return 0;
  pendingWait.delete(file);
  const pipe = pipeOf(file)!;
  const moved = (): boolean => (w.counter === 'w' ? pipe.wCounter : pipe.rCounter) !== w.seen;
  if (moved()) return 0;
  return (async () => {
    for (;;) {
      const r = await sleepOn(task, [pipe.rdWait, pipe.wrWait]);
      if (r !== 0) return r;
      if (moved()) return 0;
    }
  })();
}

/** The f_op of S_IFIFO inodes before open (def_fifo_fops → pipefifo_fops). */
export const fifoFops: FileOperations = {
  open: fifoOpen,
  openWait: fifoOpenWait,
};

/** An open FIFO: the pipe operations, plus the wait for a partner that openat runs next. */
const fifoPipeFops: FileOperations = { ...pipeFops, openWait: fifoOpenWait };
