/**
 * /dev/kmsg (char 1:11, devkmsg_fops in kernel/printk/printk.c): structured access to the
 * log buffer. Each open has its own position (a sequence number, starting at the oldest
 * record); each read returns exactly one record as `PRI,seq,usec,-;text\n`, -EPIPE once when
 * records it had not read were overwritten, -EINVAL when the buffer is too small for the
 * record. A write injects one record (`<N>` prefix: level and facility; LOG_USER by default).
 */
import { EAGAIN, EFAULT, EINVAL, EPIPE, ESPIPE } from '../errno.js';
import { registerChrdev } from '../fs/char_dev.js';
import type { File, FileOperations, Kiocb } from '../fs/file.js';
import type { IovIter } from '../fs/iov_iter.js';
import type { Inode } from '../fs/inode.js';
import { POLLERR, POLLIN, POLLPRI, POLLRDNORM } from '../fs/select.js';
import { O_ACCMODE, O_NONBLOCK, O_WRONLY } from '../fs/uapi.js';
import type { Kernel } from '../kernel.js';
import { kmsgLine, printk, printkLog, textBytes, type PrintkLog } from '../printk/printk.js';
import { SYSLOG_ACTION_READ_ALL, SYSLOG_FROM_READER, checkSyslogPermissions } from '../printk/syslog.js';
import { sleepOn } from '../sched/wait.js';
import type { Task } from '../sched/task.js';

export const KMSG_MAJOR = 1;
export const KMSG_MINOR = 11;
/** PRINTKRB_RECORD_MAX: the longest write accepted. */
const PRINTKRB_RECORD_MAX = 1024;
/** LOG_USER: the facility of user-space messages that name none. */
const LOG_USER = 1;

/** struct devkmsg_user: the reader's next sequence number. */
interface DevkmsgUser {
  kernel: Kernel;
  seq: number;
}

function userOf(file: File): DevkmsgUser | null {
  return (file.private_ as DevkmsgUser | null) ?? null;
}

/** devkmsg_open: readers need READ_ALL permission and start at the oldest record. */
function devkmsgOpen(_inode: Inode, file: File, task: Task | null): number {
  if (!task) return -EINVAL;
  const u: DevkmsgUser = { kernel: task.kernel, seq: 0 };
  file.private_ = u;
  if ((file.flags & O_ACCMODE) === O_WRONLY) return 0; // write-only needs no reader context
  const e = checkSyslogPermissions(task, SYSLOG_ACTION_READ_ALL, SYSLOG_FROM_READER);
  if (e) return e;
  u.seq = printkLog(task.kernel).firstSeq;
  return 0;
}

/** One record for the reader at u.seq (the body of devkmsg_read after the wait). */
function readRecord(log: PrintkLog, u: DevkmsgUser, to: IovIter): number {
  const r = log.read(u.seq)!;
  if (r.seq !== u.seq) {
    // Our last seen message is gone: report it once and go on from the oldest.
    u.seq = r.seq;
    return -EPIPE;
  }
  const line = kmsgLine(r);
  u.seq = r.seq + 1;
  if (line.length > to.count) return -EINVAL;
  const n = to.copyTo(textBytes(line));
  return n < 0 ? -EFAULT : n;
}

/** devkmsg_read: one record, sleeping (unless O_NONBLOCK) until one exists. */
function devkmsgRead(iocb: Kiocb, to: IovIter): number | Promise<number> {
  const u = userOf(iocb.file);
  if (!u) return -EINVAL;
  const log = printkLog(u.kernel);
  if (u.seq < log.nextSeq) return readRecord(log, u, to);
  if (iocb.flags & O_NONBLOCK) return -EAGAIN;
  const task = u.kernel.current;
  if (!task) return -EAGAIN;
  return (async (): Promise<number> => {
    while (u.seq >= log.nextSeq) {
      const e = await sleepOn(task, log.wait);
      if (e) return e;
    }
    return readRecord(log, u, to);
  })();
}

/**
 * devkmsg_write: one record from the whole write. A leading `<N>` gives the level (N & 7)
 * and, when nonzero, the facility (N >> 3); otherwise LOG_USER at the default level.
 */
function devkmsgWrite(iocb: Kiocb, from: IovIter): number {
  const u = userOf(iocb.file);
  if (!u) return -EINVAL;
  const len = from.count;
  if (len > PRINTKRB_RECORD_MAX) return -EINVAL;
  const b = from.copyFrom(len);
  if (typeof b === 'number') return b;
  let line = '';
  for (const c of b) line += String.fromCharCode(c);
  let level = -1;
  let facility = LOG_USER;
  const m = /^<(\d*)>/.exec(line);
  if (m) {
    const v = Number(m[1] || '0') >>> 0;
    level = v & 7;
    if (v >>> 3) facility = v >>> 3;
    line = line.slice(m[0].length);
  }
  const nul = line.indexOf('\0');
  if (nul >= 0) line = line.slice(0, nul);
  printk(u.kernel, level, line, facility);
  return len;
}

/** devkmsg_llseek: only offset 0; SEEK_SET oldest, SEEK_DATA after the last clear, SEEK_END newest. */
function devkmsgLlseek(file: File, offset: number, whence: number): number {
  const u = userOf(file);
  if (!u) return -EINVAL;
  if (offset) return -ESPIPE;
  const log = printkLog(u.kernel);
  switch (whence) {
    case 0: // SEEK_SET
      u.seq = log.firstSeq;
      return 0;
    case 3: // SEEK_DATA: the first record after the last SYSLOG_ACTION_CLEAR, as READ_ALL
      u.seq = Math.max(log.clearSeq, log.firstSeq);
      return 0;
    case 2: // SEEK_END
      u.seq = log.nextSeq;
      return 0;
    default:
      return -EINVAL;
  }
}

/** devkmsg_poll: readable when a record is unread; POLLERR|POLLPRI when some were overwritten. */
function devkmsgPoll(file: File): number {
  const u = userOf(file);
  if (!u) return POLLERR;
  const log = printkLog(u.kernel);
  if (u.seq >= log.nextSeq) return 0;
  let m = POLLIN | POLLRDNORM;
  if (u.seq < log.firstSeq) m |= POLLERR | POLLPRI;
  return m;
}

function devkmsgPollWait(file: File): Promise<void> {
  const u = userOf(file);
  if (!u) return Promise.resolve();
  const log = printkLog(u.kernel);
  return new Promise((resolve) => log.wait.add({ wake: () => resolve() }));
}

export const devkmsgFops: FileOperations = {
  open: devkmsgOpen,
  readIter: devkmsgRead,
  writeIter: devkmsgWrite,
  llseek: devkmsgLlseek,
  poll: devkmsgPoll,
  pollWait: devkmsgPollWait,
};

let registered = false;

/** Register /dev/kmsg (mem.c's devlist entry "kmsg", minor 11). Idempotent. */
export function kmsgInit(): void {
  if (registered) return;
  registered = true;
  registerChrdev(KMSG_MAJOR, KMSG_MINOR, 1, 'kmsg', devkmsgFops);
}
