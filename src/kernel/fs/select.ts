import * as E from '../errno.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import type { File } from './file.js';
import { sleepOn } from '../sched/wait.js';
import { restoreSavedSigmaskUnless, setUserSigmask } from '../signal/signal.js';

/**
 * ppoll (fs/select.c: do_sys_poll). Each file reports readiness through f_op->poll (files
 * without one are always ready, DEFAULT_POLLMASK); when nothing is ready the task sleeps
 * until a polled file's pollWait resolves, the timeout passes or a signal arrives. The sigmask
 * argument is installed for the duration of the call (set_user_sigmask), so glibc's pause()
 * (ppoll with no fds) and race-free ppoll loops work. select/pselect6 come later.
 */
export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;
export const POLLRDNORM = 0x40;
export const POLLWRNORM = 0x100;
export const DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

function fileMask(f: File): number {
  return f.op.poll ? f.op.poll(f) : DEFAULT_POLLMASK;
}

/** One pass over the pollfd array (do_pollfd for each): fills revents, returns the ready count. */
function pollOnce(task: Task, pfds: Uint8Array, n: number, waitOn: File[] | null): number {
  const v = new DataView(pfds.buffer, pfds.byteOffset, pfds.byteLength);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const fd = v.getInt32(i * 8, true);
    const events = v.getUint16(i * 8 + 4, true);
    let rev = 0;
    if (fd >= 0) {
      const f = task.files.get(fd);
      if (!f) rev = POLLNVAL;
      else {
        rev = fileMask(f) & (events | POLLERR | POLLHUP);
        if (rev === 0 && waitOn && f.op.pollWait) waitOn.push(f);
      }
    }
    v.setUint16(i * 8 + 6, rev, true);
    if (rev) count++;
  }
  return count;
}

export function sysPpoll(
  task: Task,
  ufds: number,
  nfds: number,
  utmo: number,
  usigmask: number,
  sigsetsize: number,
): number | Promise<number> {
  const n = nfds >>> 0;
  if (n > task.files.rlimitNofile) return -E.EINVAL;
  let timeoutNs = -1;
  if (utmo !== 0) {
    const t = copyFromUser(task.mm, utmo, 16);
    if (typeof t === 'number') return -E.EFAULT;
    const tv = new DataView(t.buffer, t.byteOffset, 16);
    const sec = tv.getUint32(0, true) + tv.getInt32(4, true) * 4294967296;
    const nsec = tv.getUint32(8, true) + tv.getInt32(12, true) * 4294967296;
    if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
    timeoutNs = sec * 1e9 + nsec;
  }
  const raw = n === 0 ? new Uint8Array(0) : copyFromUser(task.mm, ufds, n * 8);
  if (typeof raw === 'number') return -E.EFAULT;
  const pfds = raw;
  const m = setUserSigmask(task, usigmask, sigsetsize);
  if (m < 0) return m;
  const finish = (count: number): number => {
    // restore_saved_sigmask_unless(ret == -ERESTARTNOHAND)
    restoreSavedSigmaskUnless(task, count === -E.ERESTARTNOHAND);
    if (count < 0) return count;
    if (n > 0 && copyToUser(task.mm, ufds, pfds) < 0) return -E.EFAULT;
    return count;
  };
  const c = pollOnce(task, pfds, n, null);
  if (c > 0 || timeoutNs === 0) return finish(c);
  const clock = task.kernel.clock;
  const deadlineNs = timeoutNs < 0 ? undefined : clock.monotonicNs() + timeoutNs;
  // do_poll(): poll every file, sleep until one of them (or the timeout, or a signal) wakes us,
  // poll again. A signal ends the wait with -ERESTARTNOHAND (ppoll is never restarted after a handler).
  return (async () => {
    for (;;) {
      const files: File[] = [];
      const r = pollOnce(task, pfds, n, files);
      if (r > 0) return finish(r);
      const waits = files.map((f) => f.op.pollWait!(f));
      const woken = waits.length > 0 ? Promise.race(waits) : undefined;
      const s = await sleepOn(task, null, deadlineNs === undefined ? {} : { deadlineNs }, woken);
      if (s === -E.ETIMEDOUT) return finish(0);
      if (s !== 0) return finish(-E.ERESTARTNOHAND);
    }
  })();
}
