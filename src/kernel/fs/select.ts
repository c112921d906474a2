import * as E from '../errno.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import type { File } from './file.js';

/**
 * ppoll (fs/select.c: do_sys_poll). Each file reports readiness through f_op->poll (files
 * without one are always ready, DEFAULT_POLLMASK); when nothing is ready the task sleeps
 * until a polled file's pollWait resolves or the timeout passes.
 * Not done yet: the temporary signal mask (ppoll's sigmask argument is ignored until the
 * signal code can swap masks around a sleep), and interruption of the sleep by signals.
 * select/pselect6 come later.
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

export function sysPpoll(task: Task, ufds: number, nfds: number, utmo: number): number | Promise<number> {
  const n = nfds >>> 0;
  if (n > task.files.rlimitNofile) return -E.EINVAL;
  let timeoutMs = -1;
  if (utmo !== 0) {
    const t = copyFromUser(task.mm, utmo, 16);
    if (typeof t === 'number') return -E.EFAULT;
    const tv = new DataView(t.buffer, t.byteOffset, 16);
    const sec = tv.getUint32(0, true) + tv.getInt32(4, true) * 4294967296;
    const nsec = tv.getUint32(8, true) + tv.getInt32(12, true) * 4294967296;
    if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
    timeoutMs = sec * 1000 + nsec / 1e6;
  }
  const raw = n === 0 ? new Uint8Array(0) : copyFromUser(task.mm, ufds, n * 8);
  if (typeof raw === 'number') return -E.EFAULT;
  const pfds = raw;
  const finish = (count: number): number => {
    if (n > 0 && copyToUser(task.mm, ufds, pfds) < 0) return -E.EFAULT;
    return count;
  };
  const waitOn: File[] = [];
  const c = pollOnce(task, pfds, n, waitOn);
  if (c > 0 || timeoutMs === 0) return finish(c);
  if (waitOn.length === 0 && timeoutMs < 0) {
    // Nothing can ever become ready and no timeout: Linux would sleep until a signal.
    return new Promise<number>(() => {});
  }
  const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
  return (async () => {
    for (;;) {
      const waits: Promise<unknown>[] = [];
      const files: File[] = [];
      const r = pollOnce(task, pfds, n, files);
      if (r > 0) return finish(r);
      const left = deadline - Date.now();
      if (left <= 0) return finish(0);
      for (const f of files) waits.push(f.op.pollWait!(f));
      let timer: ReturnType<typeof setTimeout> | undefined;
      if (left !== Infinity) waits.push(new Promise((res) => (timer = setTimeout(res, left))));
      await Promise.race(waits);
      if (timer) clearTimeout(timer);
    }
  })();
}
