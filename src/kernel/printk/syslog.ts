/**
 * syslog(2) (do_syslog in kernel/printk/printk.c): what klogctl() — busybox dmesg, klogd —
 * uses to read and clear the log buffer and to set the console log level.
 */
import { EFAULT, EINVAL, EPERM } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { copyToUser } from '../mm/uaccess.js';
import { sleepOn } from '../sched/wait.js';
import type { Task } from '../sched/task.js';
import { SYS_syslog } from '../syscall/numbers.js';
import type { SyscallTable } from '../syscall/types.js';
import { LOG_BUF_LEN, printkLog, syslogLine, textBytes, type PrintkLog } from './printk.js';

/** SYSLOG_ACTION_* (include/linux/syslog.h). */
export const SYSLOG_ACTION_CLOSE = 0;
export const SYSLOG_ACTION_OPEN = 1;
export const SYSLOG_ACTION_READ = 2;
export const SYSLOG_ACTION_READ_ALL = 3;
export const SYSLOG_ACTION_READ_CLEAR = 4;
export const SYSLOG_ACTION_CLEAR = 5;
export const SYSLOG_ACTION_CONSOLE_OFF = 6;
export const SYSLOG_ACTION_CONSOLE_ON = 7;
export const SYSLOG_ACTION_CONSOLE_LEVEL = 8;
export const SYSLOG_ACTION_SIZE_UNREAD = 9;
export const SYSLOG_ACTION_SIZE_BUFFER = 10;

/** Who is asking: the system call, or a reader of /proc/kmsg (SYSLOG_FROM_READER / _PROC). */
export const SYSLOG_FROM_READER = 0;
export const SYSLOG_FROM_PROC = 1;

/** /proc/sys/kernel/dmesg_restrict (CONFIG_SECURITY_DMESG_RESTRICT=n). */
export const DMESG_RESTRICT = 0;

/** syslog_action_restricted: with dmesg_restrict=0 anyone may READ_ALL and SIZE_BUFFER. */
function actionRestricted(type: number): boolean {
  if (DMESG_RESTRICT) return true;
  return type !== SYSLOG_ACTION_READ_ALL && type !== SYSLOG_ACTION_SIZE_BUFFER;
}

/** check_syslog_permissions: the rest needs CAP_SYSLOG (root here). */
export function checkSyslogPermissions(task: Task | null, type: number, source: number): number {
  if (source === SYSLOG_FROM_PROC && type !== SYSLOG_ACTION_OPEN) return 0;
  if (actionRestricted(type) && task && task.cred.euid !== 0) return -EPERM;
  return 0;
}

/**
 * syslog_print_all: the newest records from clear_seq on that fit in `size` bytes, as
 * syslog lines (`<6>[    0.000000] text\n`); with `clear`, clear_seq moves past them.
 */
export function syslogPrintAll(log: PrintkLog, size: number, clear: boolean): string {
  const lines: string[] = [];
  let total = 0;
  for (const r of log.from(log.clearSeq)) {
    const l = syslogLine(r);
    lines.push(l);
    total += l.length;
  }
  // find_first_fitting_seq: drop the oldest until the rest fits.
  let i = 0;
  while (total > size && i < lines.length) total -= lines[i++]!.length;
  if (clear) log.clearSeq = log.nextSeq;
  return lines.slice(i).join('');
}

/**
 * syslog_print: consume up to `size` bytes from syslog_seq on, whole lines when they fit and
 * a part of the first line (remembered in syslog_partial) when even that does not. Returns
 * '' when nothing is unread (the caller sleeps first).
 */
export function syslogPrint(log: PrintkLog, size: number): string {
  let out = '';
  while (size > 0) {
    const r = log.read(log.syslogSeq);
    if (!r) break;
    if (r.seq !== log.syslogSeq) {
      // The message is gone: move to the next valid one.
      log.syslogSeq = r.seq;
      log.syslogPartial = 0;
    }
    const text = syslogLine(r);
    const skip = log.syslogPartial;
    let n: number;
    if (text.length - skip <= size) {
      log.syslogSeq = r.seq + 1;
      n = text.length - skip;
      log.syslogPartial = 0;
    } else if (out.length === 0) {
      n = size;
      log.syslogPartial += n;
    } else n = 0;
    if (n === 0) break;
    out += text.slice(skip, skip + n);
    size -= n;
  }
  return out;
}

/** Bytes (or, for /proc/kmsg's poll, records) not yet consumed by syslog READ (SIZE_UNREAD). */
export function syslogSizeUnread(log: PrintkLog, source: number): number {
  if (log.syslogSeq < log.firstSeq) {
    log.syslogSeq = log.firstSeq;
    log.syslogPartial = 0;
  }
  if (source === SYSLOG_FROM_PROC) return log.nextSeq - log.syslogSeq;
  let n = 0;
  for (const r of log.from(log.syslogSeq)) n += syslogLine(r).length;
  return n - log.syslogPartial;
}

function copyOut(task: Task, buf: number, text: string): number {
  if (text.length === 0) return 0;
  return copyToUser(task.mm, buf, textBytes(text)) < 0 ? -EFAULT : text.length;
}

/** do_syslog(type, buf, len, source). READ sleeps until a record is unread. */
export function doSyslog(
  kernel: Kernel,
  task: Task,
  type: number,
  buf: number,
  len: number,
  source: number,
): number | Promise<number> {
  const r = checkSyslogPermissions(task, type, source);
  if (r) return r;
  const log = printkLog(kernel);
  switch (type) {
    case SYSLOG_ACTION_CLOSE:
    case SYSLOG_ACTION_OPEN:
      return 0;
    case SYSLOG_ACTION_READ: {
      if (!buf || len < 0) return -EINVAL;
      if (len === 0) return 0;
      const readNow = (): number | Promise<number> => {
        if (log.syslogSeq < log.nextSeq) return copyOut(task, buf, syslogPrint(log, len));
        return (async (): Promise<number> => {
          // wait_event_interruptible(log_wait, prb_read_valid(prb, syslog_seq, NULL))
          while (log.syslogSeq >= log.nextSeq) {
            const e = await sleepOn(task, log.wait);
            if (e) return e;
          }
          return copyOut(task, buf, syslogPrint(log, len));
        })();
      };
      return readNow();
    }
    case SYSLOG_ACTION_READ_CLEAR:
    case SYSLOG_ACTION_READ_ALL: {
      if (!buf || len < 0) return -EINVAL;
      if (len === 0) return 0;
      return copyOut(task, buf, syslogPrintAll(log, len, type === SYSLOG_ACTION_READ_CLEAR));
    }
    case SYSLOG_ACTION_CLEAR:
      log.clearSeq = log.nextSeq;
      return 0;
    case SYSLOG_ACTION_CONSOLE_OFF:
      if (log.savedConsoleLoglevel === -1) log.savedConsoleLoglevel = log.consoleLoglevel;
      log.consoleLoglevel = log.minimumConsoleLoglevel;
      return 0;
    case SYSLOG_ACTION_CONSOLE_ON:
      if (log.savedConsoleLoglevel !== -1) {
        log.consoleLoglevel = log.savedConsoleLoglevel;
        log.savedConsoleLoglevel = -1;
      }
      return 0;
    case SYSLOG_ACTION_CONSOLE_LEVEL:
      if (len < 1 || len > 8) return -EINVAL;
      log.consoleLoglevel = Math.max(len, log.minimumConsoleLoglevel);
      log.savedConsoleLoglevel = -1; // implicitly re-enable logging to the console
      return 0;
    case SYSLOG_ACTION_SIZE_UNREAD:
      return syslogSizeUnread(log, source);
    case SYSLOG_ACTION_SIZE_BUFFER:
      return LOG_BUF_LEN;
    default:
      return -EINVAL;
  }
}

/** syslog(int type, char *buf, int len). */
export const printkSyscalls: SyscallTable = {
  [SYS_syslog]: (task, type, buf, len) => doSyslog(task.kernel, task, type | 0, buf, len | 0, SYSLOG_FROM_READER),
};
