/**
 * Process identity and system information (kernel/sys.c): getpid and the id calls, uname,
 * sysinfo, times, prctl; plus getrandom (random.ts) and riscv_hwprobe (hwprobe.ts).
 */
import { EFAULT, EINVAL, EPERM, ESRCH } from '../errno.js';
import type { Task } from '../sched/task.js';
import type { SyscallTable } from '../syscall/types.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import * as nr from '../syscall/numbers.js';
import { taskCpuNs } from '../time/clocks.js';
import { USER_HZ } from '../exec/binfmt_elf.js';
import { sysGetrandom } from './random.js';
import { sysRiscvHwprobe } from './hwprobe.js';
import { NSIG } from '../signal/signum.js';
import { TaskState } from '../sched/task.js';
import { calcGlobalLoad } from '../fs/proc/loadavg.js';

/** What uname(2) reports: the kernel this one stands in for. */
export const UTS_SYSNAME = 'Linux';
export const UTS_RELEASE = '6.12.0-labvisor';
export const UTS_VERSION = '#1 SMP PREEMPT_DYNAMIC Labvisor';
export const UTS_MACHINE = 'riscv64';
/** __NEW_UTS_LEN + 1. */
const UTS_FIELD = 65;

function putU64(v: DataView, off: number, x: number): void {
  v.setUint32(off, (x % 0x1_0000_0000) >>> 0, true);
  v.setUint32(off + 4, Math.floor(x / 0x1_0000_0000) >>> 0, true);
}

function putIds(task: Task, vas: number[], ids: number[]): number {
  for (let i = 0; i < vas.length; i++) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, ids[i]! >>> 0, true);
    if (copyToUser(task.mm, vas[i]!, b) < 0) return -EFAULT;
  }
  return 0;
}

function sysUname(task: Task, va: number): number {
  const k = task.kernel;
  const fields = [UTS_SYSNAME, k.nodename, UTS_RELEASE, UTS_VERSION, UTS_MACHINE, k.domainname];
  const b = new Uint8Array(UTS_FIELD * 6);
  fields.forEach((s, i) => {
    const e = new TextEncoder().encode(s).subarray(0, UTS_FIELD - 1);
    b.set(e, i * UTS_FIELD);
  });
  return copyToUser(task.mm, va, b) < 0 ? -EFAULT : 0;
}

/**
 * sethostname / setdomainname (kernel/sys.c): root only (CAP_SYS_ADMIN in the UTS namespace's
 * user namespace), at most __NEW_UTS_LEN (64) bytes, no terminating NUL needed.
 */
function setUtsField(field: 'nodename' | 'domainname') {
  return (task: Task, va: number, len: number): number => {
    if (task.cred.euid !== 0) return -EPERM;
    if (len < 0 || len > UTS_FIELD - 1) return -EINVAL;
    const b = copyFromUser(task.mm, va, len);
    if (typeof b === 'number') return -EFAULT;
    task.kernel[field] = new TextDecoder().decode(b);
    return 0;
  };
}

/** do_sysinfo(): struct sysinfo is 112 bytes on 64-bit; loads are avenrun << (SI_LOAD_SHIFT - FSHIFT). */
function sysSysinfo(task: Task, va: number): number {
  const k = task.kernel;
  const b = new Uint8Array(112);
  const v = new DataView(b.buffer);
  const up = k.clock.monotonicNs();
  putU64(v, 0, Math.floor(up / 1e9) + (up % 1e9 ? 1 : 0));
  const avg = calcGlobalLoad(k);
  [avg.avenrun[0], avg.avenrun[1], avg.avenrun[2]].forEach((l, i) => putU64(v, 8 + 8 * i, (l ?? 0) * 32));
  putU64(v, 32, k.mem.size);
  putU64(v, 40, k.pageAlloc.nrFree() * 4096);
  let procs = 0;
  for (const t of k.tasks.values()) if (t.state !== TaskState.DEAD) procs++;
  v.setUint16(80, procs, true);
  v.setUint32(104, 1, true); // mem_unit
  return copyToUser(task.mm, va, b) < 0 ? -EFAULT : 0;
}

/** times(): struct tms in USER_HZ ticks; returns ticks since boot. */
function sysTimes(task: Task, va: number): number {
  if (va !== 0) {
    const b = new Uint8Array(32);
    const v = new DataView(b.buffer);
    putU64(v, 0, Math.floor((taskCpuNs(task, true) * USER_HZ) / 1e9));
    putU64(v, 16, Math.floor((task.signal.childrenCpuNs * USER_HZ) / 1e9));
    if (copyToUser(task.mm, va, b) < 0) return -EFAULT;
  }
  return Math.floor((task.kernel.clock.monotonicNs() * USER_HZ) / 1e9);
}

function sysGetgroups(task: Task, size: number, va: number): number {
  size |= 0;
  const g = task.cred.groups;
  if (size < 0) return -EINVAL;
  if (size === 0) return g.length;
  if (size < g.length) return -EINVAL;
  const b = new Uint8Array(4 * g.length);
  const v = new DataView(b.buffer);
  g.forEach((id, i) => v.setUint32(i * 4, id >>> 0, true));
  if (g.length > 0 && copyToUser(task.mm, va, b) < 0) return -EFAULT;
  return g.length;
}

/* prctl options (include/uapi/linux/prctl.h). */
const PR_SET_PDEATHSIG = 1;
const PR_GET_PDEATHSIG = 2;
const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;
const PR_GET_KEEPCAPS = 7;
const PR_SET_KEEPCAPS = 8;
const PR_SET_NAME = 15;
const PR_GET_NAME = 16;
const PR_CAPBSET_READ = 23;
const PR_SET_TIMERSLACK = 29;
const PR_GET_TIMERSLACK = 30;
const PR_SET_CHILD_SUBREAPER = 36;
const PR_GET_CHILD_SUBREAPER = 37;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_GET_NO_NEW_PRIVS = 39;
/** CAP_LAST_CAP of Linux 6.12 (CAP_CHECKPOINT_RESTORE). */
const CAP_LAST_CAP = 40;

function putInt(task: Task, va: number, x: number): number {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, x | 0, true);
  return copyToUser(task.mm, va, b) < 0 ? -EFAULT : 0;
}

function sysPrctl(task: Task, option: number, arg2: number, arg3: number, arg4: number, arg5: number): number {
  const p = task.prctl;
  switch (option | 0) {
    case PR_SET_PDEATHSIG:
      if (arg2 < 0 || arg2 > NSIG) return -EINVAL;
      p.pdeathsig = arg2;
      return 0;
    case PR_GET_PDEATHSIG:
      return putInt(task, arg2, p.pdeathsig);
    case PR_GET_DUMPABLE:
      return p.dumpable;
    case PR_SET_DUMPABLE:
      if (arg2 !== 0 && arg2 !== 1) return -EINVAL;
      p.dumpable = arg2;
      return 0;
    case PR_GET_KEEPCAPS:
      return p.keepCaps;
    case PR_SET_KEEPCAPS:
      if (arg2 !== 0 && arg2 !== 1) return -EINVAL;
      p.keepCaps = arg2;
      return 0;
    case PR_SET_NAME: {
      // strncpy_from_user(comm, arg2, TASK_COMM_LEN - 1): up to 15 bytes or the NUL.
      let name = '';
      for (let i = 0; i < 15; i++) {
        const c = copyFromUser(task.mm, arg2 + i, 1);
        if (typeof c === 'number') return -EFAULT;
        if (c[0] === 0) break;
        name += String.fromCharCode(c[0]!);
      }
      task.comm = name;
      return 0;
    }
    case PR_GET_NAME: {
      const b = new Uint8Array(16);
      for (let i = 0; i < task.comm.length && i < 15; i++) b[i] = task.comm.charCodeAt(i) & 0xff;
      return copyToUser(task.mm, arg2, b) < 0 ? -EFAULT : 0;
    }
    case PR_CAPBSET_READ:
      if (arg2 < 0 || arg2 > CAP_LAST_CAP) return -EINVAL;
      return 1;
    case PR_SET_TIMERSLACK:
      p.timerSlackNs = arg2 <= 0 ? 50_000 : arg2;
      return 0;
    case PR_GET_TIMERSLACK:
      return p.timerSlackNs;
    case PR_SET_CHILD_SUBREAPER:
      p.childSubreaper = arg2 !== 0 ? 1 : 0;
      return 0;
    case PR_GET_CHILD_SUBREAPER:
      return putInt(task, arg2, p.childSubreaper);
    case PR_SET_NO_NEW_PRIVS:
      if (arg2 !== 1 || arg3 !== 0 || arg4 !== 0 || arg5 !== 0) return -EINVAL;
      p.noNewPrivs = 1;
      return 0;
    case PR_GET_NO_NEW_PRIVS:
      if (arg2 !== 0 || arg3 !== 0 || arg4 !== 0 || arg5 !== 0) return -EINVAL;
      return p.noNewPrivs;
    default:
      // Linux answers -EINVAL for options it does not know; the rest are not implemented yet.
      return -EINVAL;
  }
}

/* Process groups and sessions (kernel/sys.c: setpgid, getpgid, getsid, setsid). */

function liveProcesses(task: Task): Task[] {
  return [...task.kernel.tasks.values()].filter(
    (t) => t.pid === t.tgid && t.state !== TaskState.ZOMBIE && t.state !== TaskState.DEAD,
  );
}

function sysGetpgid(task: Task, pid: number): number {
  pid |= 0;
  const t = pid === 0 ? task : task.kernel.findTask(pid);
  if (!t || t.state === TaskState.DEAD) return -ESRCH;
  return t.pgid;
}

function sysGetsid(task: Task, pid: number): number {
  pid |= 0;
  const t = pid === 0 ? task : task.kernel.findTask(pid);
  if (!t || t.state === TaskState.DEAD) return -ESRCH;
  return t.sid;
}

function sysSetpgid(task: Task, pid: number, pgid: number): number {
  pid |= 0;
  pgid |= 0;
  if (pid === 0) pid = task.tgid;
  if (pgid === 0) pgid = pid;
  if (pgid < 0) return -EINVAL;
  const t = task.kernel.findTask(pid);
  if (!t || t.pid !== t.tgid || (t !== task && t.ppid !== task.tgid)) return -ESRCH;
  if (t !== task && t.sid !== task.sid) return -EPERM;
  if (t.sid === t.tgid) return -EPERM; // a session leader cannot move
  if (pgid !== pid && !liveProcesses(task).some((p) => p.pgid === pgid && p.sid === task.sid)) return -EPERM;
  for (const th of task.kernel.threadGroup(t.tgid)) th.pgid = pgid;
  return 0;
}

function sysSetsid(task: Task): number {
  if (liveProcesses(task).some((p) => p.pgid === task.tgid)) return -EPERM; // already a group leader
  for (const th of task.kernel.threadGroup(task.tgid)) {
    th.sid = task.tgid;
    th.pgid = task.tgid;
  }
  return task.tgid;
}

export const sysSyscalls: SyscallTable = {
  [nr.SYS_getpgid]: sysGetpgid,
  [nr.SYS_setpgid]: sysSetpgid,
  [nr.SYS_getsid]: sysGetsid,
  [nr.SYS_setsid]: sysSetsid,
  [nr.SYS_getpid]: (t) => t.tgid,
  [nr.SYS_gettid]: (t) => t.pid,
  [nr.SYS_getppid]: (t) => t.ppid,
  [nr.SYS_getuid]: (t) => t.cred.uid,
  [nr.SYS_geteuid]: (t) => t.cred.euid,
  [nr.SYS_getgid]: (t) => t.cred.gid,
  [nr.SYS_getegid]: (t) => t.cred.egid,
  [nr.SYS_getresuid]: (t, r, e, s) => putIds(t, [r, e, s], [t.cred.uid, t.cred.euid, t.cred.suid]),
  [nr.SYS_getresgid]: (t, r, e, s) => putIds(t, [r, e, s], [t.cred.gid, t.cred.egid, t.cred.sgid]),
  [nr.SYS_getgroups]: sysGetgroups,
  [nr.SYS_uname]: sysUname,
  [nr.SYS_sethostname]: setUtsField('nodename'),
  [nr.SYS_setdomainname]: setUtsField('domainname'),
  [nr.SYS_sysinfo]: sysSysinfo,
  [nr.SYS_times]: sysTimes,
  [nr.SYS_prctl]: sysPrctl,
  [nr.SYS_getrandom]: sysGetrandom,
  [nr.SYS_riscv_hwprobe]: sysRiscvHwprobe,
};
