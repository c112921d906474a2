/**
 * Socket control messages (net/core/scm.c): SCM_RIGHTS passes open files, SCM_CREDENTIALS
 * passes (checked) credentials. __scm_send parses the sender's msg_control into a cookie;
 * scm_recv writes the receiver's cmsgs back with put_cmsg and scm_detach_fds.
 *
 * Layout on riscv64: struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }
 * (16 bytes), data aligned to 8 (CMSG_ALIGN).
 */
import * as E from '../errno.js';
import type { File } from '../fs/file.js';
import { copyToUser } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import type { Ucred } from './socket.js';
import { MSG_CMSG_CLOEXEC, MSG_CTRUNC, SCM_CREDENTIALS, SCM_MAX_FD, SCM_RIGHTS, SOL_SOCKET } from './uapi.js';

/** struct scm_cookie: files (struct scm_fp_list) and credentials riding with a message. */
export interface ScmCookie {
  fds: File[];
  cred: Ucred | null;
}

const CMSG_HDR = 16;
/** overflowuid / overflowgid. */
const OVERFLOW_ID = 65534;
const cmsgAlign = (n: number): number => (n + 7) & ~7;
const cmsgLen = (n: number): number => CMSG_HDR + n;
const cmsgSpace = (n: number): number => CMSG_HDR + cmsgAlign(n);

/** Drop the references a cookie holds (scm_destroy). */
export function scmDestroy(scm: ScmCookie | null): void {
  if (!scm) return;
  for (const f of scm.fds) f.put();
  scm.fds = [];
}

/** Is `id` one of the three ids of a credential set (uid_eq on real/effective/saved)? */
function ownId(id: number, a: number, b: number, c: number): boolean {
  return id === a || id === b || id === c;
}

/**
 * __scm_send: walk the control buffer (already copied from user space). Unknown levels are
 * skipped; bad lengths are -EINVAL; SCM_RIGHTS takes references on the named files
 * (scm_fp_copy, -EBADF for a bad fd); SCM_CREDENTIALS must name the sender's own ids unless
 * it has the capability (scm_check_creds, -EPERM). Returns 0 or -errno; on error the cookie
 * holds no references.
 */
export function scmSend(task: Task, ctl: Uint8Array, scm: ScmCookie): number {
  const dv = new DataView(ctl.buffer, ctl.byteOffset, ctl.byteLength);
  let off = 0;
  const fail = (e: number): number => {
    scmDestroy(scm);
    return e;
  };
  // CMSG_FIRSTHDR / CMSG_NXTHDR: a header must fit in what is left.
  while (off + CMSG_HDR <= ctl.length) {
    const lenHi = dv.getUint32(off + 4, true);
    const len = lenHi ? Infinity : dv.getUint32(off, true);
    const level = dv.getInt32(off + 8, true);
    const type = dv.getInt32(off + 12, true);
    // CMSG_OK: cmsg_len >= sizeof(cmsghdr) and within the buffer.
    if (len < CMSG_HDR || len > ctl.length - off) return fail(-E.EINVAL);
    if (level === SOL_SOCKET) {
      const dataLen = len - CMSG_HDR;
      if (type === SCM_RIGHTS) {
        const num = Math.floor(dataLen / 4);
        if (num > 0) {
          if (num + scm.fds.length > SCM_MAX_FD) return fail(-E.EINVAL);
          for (let i = 0; i < num; i++) {
            const fd = dv.getInt32(off + CMSG_HDR + i * 4, true);
            const f = task.files.get(fd);
            if (!f) return fail(-E.EBADF);
            scm.fds.push(f.get());
          }
        }
      } else if (type === SCM_CREDENTIALS) {
        if (len !== cmsgLen(12)) return fail(-E.EINVAL);
        const pid = dv.getInt32(off + CMSG_HDR, true);
        const uid = dv.getUint32(off + CMSG_HDR + 4, true);
        const gid = dv.getUint32(off + CMSG_HDR + 8, true);
        const c = task.cred;
        const root = c.euid === 0;
        if (pid !== task.tgid && !root) return fail(-E.EPERM);
        if (!ownId(uid, c.uid, c.euid, c.suid) && !root) return fail(-E.EPERM);
        if (!ownId(gid, c.gid, c.egid, c.sgid) && !root) return fail(-E.EPERM);
        scm.cred = { pid, uid, gid };
      } else {
        return fail(-E.EINVAL);
      }
    }
    off += cmsgAlign(len);
  }
  return 0;
}

/** The receiver's control buffer while scm_recv fills it (msg_control / msg_controllen). */
export interface CmsgOut {
  task: Task;
  ptr: number;
  len: number;
  flags: number;
}

/** put_cmsg: one cmsg, truncated (MSG_CTRUNC) when it does not fit. -EFAULT on a bad buffer. */
export function putCmsg(out: CmsgOut, level: number, type: number, data: Uint8Array): number {
  // No buffer (msg_control NULL) or no room for a header: nothing written, MSG_CTRUNC.
  if (out.ptr === 0 || out.len < CMSG_HDR) {
    out.flags |= MSG_CTRUNC;
    return 0;
  }
  let cmlen = cmsgLen(data.length);
  if (out.len < cmlen) {
    out.flags |= MSG_CTRUNC;
    cmlen = out.len;
  }
  const buf = new Uint8Array(cmlen);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, cmsgLen(data.length) > out.len ? cmlen : cmsgLen(data.length), true);
  dv.setInt32(8, level, true);
  dv.setInt32(12, type, true);
  buf.set(data.subarray(0, cmlen - CMSG_HDR), CMSG_HDR);
  if (copyToUser(out.task.mm, out.ptr, buf) < 0) return -E.EFAULT;
  const step = Math.min(cmsgSpace(data.length), out.len);
  out.ptr += step;
  out.len -= step;
  return 0;
}

/**
 * scm_detach_fds: install as many of the passed files as the buffer has room for, with
 * O_CLOEXEC under MSG_CMSG_CLOEXEC; the rest are closed and MSG_CTRUNC is set.
 */
function scmDetachFds(out: CmsgOut, files: File[], flags: number): number {
  const fdmax = out.len > CMSG_HDR ? Math.floor((out.len - CMSG_HDR) / 4) : 0;
  const fds: number[] = [];
  let i = 0;
  for (; i < files.length && i < fdmax; i++) {
    const fd = out.task.files.install(files[i]!, (flags & MSG_CMSG_CLOEXEC) !== 0);
    if (fd < 0) break;
    fds.push(fd);
  }
  if (fds.length > 0) {
    const data = new Uint8Array(fds.length * 4);
    const dv = new DataView(data.buffer);
    fds.forEach((fd, k) => dv.setInt32(k * 4, fd, true));
    const hdr = new Uint8Array(CMSG_HDR + data.length);
    const hv = new DataView(hdr.buffer);
    hv.setUint32(0, cmsgLen(data.length), true);
    hv.setInt32(8, SOL_SOCKET, true);
    hv.setInt32(12, SCM_RIGHTS, true);
    hdr.set(data, CMSG_HDR);
    if (copyToUser(out.task.mm, out.ptr, hdr) < 0) {
      // The fds are installed already; Linux leaves them too (the files are the task's now).
      for (let k = i; k < files.length; k++) files[k]!.put();
      return -E.EFAULT;
    }
    const step = Math.min(cmsgSpace(data.length), out.len);
    out.ptr += step;
    out.len -= step;
  }
  if (i < files.length) {
    out.flags |= MSG_CTRUNC;
    for (let k = i; k < files.length; k++) files[k]!.put();
  }
  return 0;
}

/**
 * scm_recv_unix: credentials first when the receiver set SO_PASSCRED, then the files.
 * The cookie's file references are consumed (installed or dropped).
 */
export function scmRecv(out: CmsgOut, scm: ScmCookie | null, passcred: boolean, flags: number): number {
  if (!scm) return 0;
  let r = 0;
  if (passcred) {
    // A message sent without credentials reads as pid 0 and the overflow ids (65534).
    const c = scm.cred ?? { pid: 0, uid: OVERFLOW_ID, gid: OVERFLOW_ID };
    const d = new Uint8Array(12);
    const dv = new DataView(d.buffer);
    dv.setInt32(0, c.pid, true);
    dv.setUint32(4, c.uid, true);
    dv.setUint32(8, c.gid, true);
    r = putCmsg(out, SOL_SOCKET, SCM_CREDENTIALS, d);
  }
  const files = scm.fds;
  scm.fds = [];
  if (files.length === 0) return r;
  if (r < 0 || out.ptr === 0) {
    // No control buffer at all: the files are dropped and the caller is told.
    if (out.ptr === 0) out.flags |= MSG_CTRUNC;
    for (const f of files) f.put();
    return r;
  }
  return scmDetachFds(out, files, flags);
}
