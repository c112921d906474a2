/**
 * Changing credentials (kernel/sys.c __sys_setuid … __sys_setfsgid, kernel/groups.c setgroups).
 *
 * Each call changes the calling thread's struct cred only, as Linux does; C libraries make
 * setuid() process-wide by running it in every thread (glibc's SIGSETXID broadcast). "Privileged"
 * is CAP_SETUID / CAP_SETGID, which this kernel grants to effective uid 0 (it keeps no separate
 * capability sets). The filesystem ids follow the effective ids on every change, so
 * permission checks (generic_permission uses fsuid/fsgid) see the new identity at once.
 */
import { EFAULT, EINVAL, EPERM } from '../errno.js';
import { copyFromUser } from '../mm/uaccess.js';
import type { Cred, Task } from '../sched/task.js';
import * as nr from '../syscall/numbers.js';
import type { SyscallTable } from '../syscall/types.js';

/** (uid_t)-1 / (gid_t)-1: "leave unchanged". */
const NO_CHANGE = 0xffffffff;
/** NGROUPS_MAX (include/uapi/linux/limits.h). */
const NGROUPS_MAX = 65536;

type Ids = { real: 'uid' | 'gid'; eff: 'euid' | 'egid'; saved: 'suid' | 'sgid'; fs: 'fsuid' | 'fsgid' };
const UIDS: Ids = { real: 'uid', eff: 'euid', saved: 'suid', fs: 'fsuid' };
const GIDS: Ids = { real: 'gid', eff: 'egid', saved: 'sgid', fs: 'fsgid' };

/** ns_capable(CAP_SETUID / CAP_SETGID): root's effective uid. */
function privileged(c: Cred): boolean {
  return c.euid === 0;
}

/** A system-call argument as uid_t (the low 32 bits of the register). */
function id32(v: number): number {
  return Number(v) >>> 0;
}

/** __sys_setuid / __sys_setgid. */
function setId(k: Ids) {
  return (task: Task, idArg: number): number => {
    const id = id32(idArg);
    if (id === NO_CHANGE) return -EINVAL; // !uid_valid()
    const c = task.cred;
    if (privileged(c)) {
      c[k.real] = c[k.saved] = id;
    } else if (id !== c[k.real] && id !== c[k.saved]) {
      return -EPERM;
    }
    c[k.eff] = c[k.fs] = id;
    return 0;
  };
}

/** __sys_setreuid / __sys_setregid. */
function setReId(k: Ids) {
  return (task: Task, rArg: number, eArg: number): number => {
    const r = id32(rArg);
    const e = id32(eArg);
    const c = task.cred;
    const priv = privileged(c);
    const oldReal = c[k.real];
    if (r !== NO_CHANGE && !priv && r !== c[k.real] && r !== c[k.eff]) return -EPERM;
    if (e !== NO_CHANGE && !priv && e !== c[k.real] && e !== c[k.eff] && e !== c[k.saved]) return -EPERM;
    if (r !== NO_CHANGE) c[k.real] = r;
    if (e !== NO_CHANGE) c[k.eff] = e;
    // The saved id follows the new effective id when the real id was set, or the effective id
    // was set to something other than the old real id.
    if (r !== NO_CHANGE || (e !== NO_CHANGE && e !== oldReal)) c[k.saved] = c[k.eff];
    c[k.fs] = c[k.eff];
    return 0;
  };
}

/** __sys_setresuid / __sys_setresgid. */
function setResId(k: Ids) {
  return (task: Task, rArg: number, eArg: number, sArg: number): number => {
    const ids = [id32(rArg), id32(eArg), id32(sArg)];
    const c = task.cred;
    if (!privileged(c)) {
      const allowed = [c[k.real], c[k.eff], c[k.saved]];
      for (const id of ids) if (id !== NO_CHANGE && !allowed.includes(id)) return -EPERM;
    }
    if (ids[0] !== NO_CHANGE) c[k.real] = ids[0]!;
    if (ids[1] !== NO_CHANGE) c[k.eff] = ids[1]!;
    if (ids[2] !== NO_CHANGE) c[k.saved] = ids[2]!;
    c[k.fs] = c[k.eff];
    return 0;
  };
}

/** __sys_setfsuid / __sys_setfsgid: always returns the old fs id; changes it only when allowed. */
function setFsId(k: Ids) {
  return (task: Task, idArg: number): number => {
    const id = id32(idArg);
    const c = task.cred;
    const old = c[k.fs];
    if (id === NO_CHANGE) return old;
    if (privileged(c) || id === c[k.real] || id === c[k.eff] || id === c[k.saved] || id === c[k.fs]) c[k.fs] = id;
    return old;
  };
}

/** setgroups (kernel/groups.c): root only; the list is kept sorted (groups_sort), as getgroups then reports it. */
function sysSetgroups(task: Task, sizeArg: number, va: number): number {
  const size = sizeArg | 0;
  if (!privileged(task.cred)) return -EPERM;
  if (size < 0 || size > NGROUPS_MAX) return -EINVAL;
  const groups: number[] = [];
  if (size > 0) {
    const b = copyFromUser(task.mm, va, size * 4);
    if (typeof b === 'number') return -EFAULT;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < size; i++) {
      const g = v.getUint32(i * 4, true);
      if (g === NO_CHANGE) return -EINVAL;
      groups.push(g);
    }
  }
  task.cred.groups = groups.sort((a, b) => a - b);
  return 0;
}

export const credSyscalls: SyscallTable = {
  [nr.SYS_setuid]: setId(UIDS),
  [nr.SYS_setgid]: setId(GIDS),
  [nr.SYS_setreuid]: setReId(UIDS),
  [nr.SYS_setregid]: setReId(GIDS),
  [nr.SYS_setresuid]: setResId(UIDS),
  [nr.SYS_setresgid]: setResId(GIDS),
  [nr.SYS_setfsuid]: setFsId(UIDS),
  [nr.SYS_setfsgid]: setFsId(GIDS),
  [nr.SYS_setgroups]: sysSetgroups,
};
