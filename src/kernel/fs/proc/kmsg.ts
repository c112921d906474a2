import { EAGAIN, EINVAL } from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import { printkLog, textBytes } from '../../printk/printk.js';
import { SYSLOG_ACTION_OPEN, SYSLOG_FROM_PROC, checkSyslogPermissions, syslogPrint } from '../../printk/syslog.js';
import { sleepOn } from '../../sched/wait.js';
import type { Task } from '../../sched/task.js';
import type { File, FileOperations, Kiocb } from '../file.js';
import type { Inode } from '../inode.js';
import type { IovIter } from '../iov_iter.js';
import { POLLIN, POLLRDNORM } from '../select.js';
import { O_NONBLOCK } from '../uapi.js';

/**
 * /proc/kmsg (fs/proc/kmsg.c): the consuming syslog reader — what klogd reads. Opening needs
 * the SYSLOG_ACTION_OPEN permission (root); a read is SYSLOG_ACTION_READ: it sleeps until a
 * record is unread, and consumes what it returns (shared with syslog(2) READ).
 */

function kmsgOpen(_inode: Inode, file: File, task: Task | null): number {
  if (!task) return -EINVAL;
  file.private_ = task.kernel;
  return checkSyslogPermissions(task, SYSLOG_ACTION_OPEN, SYSLOG_FROM_PROC);
}

function kmsgRead(iocb: Kiocb, to: IovIter): number | Promise<number> {
  const k = iocb.file.private_ as Kernel | null;
  if (!k) return -EINVAL;
  const log = printkLog(k);
  const copy = (): number => {
    const s = syslogPrint(log, to.count);
    return s.length === 0 ? 0 : to.copyTo(textBytes(s));
  };
  if (log.syslogSeq < log.nextSeq) return copy();
  if (iocb.flags & O_NONBLOCK) return -EAGAIN;
  const task = k.current;
  if (!task) return -EAGAIN;
  return (async (): Promise<number> => {
    while (log.syslogSeq >= log.nextSeq) {
      const e = await sleepOn(task, log.wait);
      if (e) return e;
    }
    return copy();
  })();
}

export const procKmsgFops: FileOperations = {
  open: kmsgOpen,
  readIter: kmsgRead,
  poll(file: File): number {
    const k = file.private_ as Kernel | null;
    if (!k) return 0;
    const log = printkLog(k);
    return log.syslogSeq < log.nextSeq ? POLLIN | POLLRDNORM : 0;
  },
  pollWait(file: File): Promise<void> {
    const k = file.private_ as Kernel | null;
    if (!k) return Promise.resolve();
    return new Promise((resolve) => printkLog(k).wait.add({ wake: () => resolve() }));
  },
};
