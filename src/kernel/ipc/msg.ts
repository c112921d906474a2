/**
 * System V message queues (ipc/msg.c): msgget, msgsnd, msgrcv, msgctl.
 *
 * A queue holds typed messages up to msg_qbytes bytes (MSGMNB, 16384) and as many messages;
 * one message is at most MSGMAX (8192) bytes. Senders sleep while the queue is full,
 * receivers while no message matches (type 0: the first; > 0: the first of that type, or of
 * any other type with MSG_EXCEPT; < 0: the lowest type ≤ |type|). Both wake on every change
 * and re-check; IPC_RMID wakes them with EIDRM. A signal gives -ERESTARTNOHAND as in Linux
 * (EINTR when a handler runs: msgsnd/msgrcv are never restarted after a handler).
 */
import * as E from '../errno.js';
import { copyFromUser, copyToUser, getUser64 } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { sleepOn, WaitQueue } from '../sched/wait.js';
import { ipcNs, MSGMAX, MSGMNB, MSGMNI, type IpcNamespace } from './namespace.js';
import {
  fillIpc64Perm,
  IPC_64,
  IPC_INFO,
  IPC_NOWAIT,
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  ipcCapable,
  ipcget,
  ipcOwnerOrCapable,
  ipcperms,
  ipcUpdatePerm,
  KernIpcPerm,
  nowSeconds,
  readIpc64Perm,
  setI64,
  type IpcObject,
} from './util.js';

export const MSG_STAT = 11;
export const MSG_INFO = 12;
export const MSG_STAT_ANY = 13;
export const MSG_NOERROR = 0o10000;
export const MSG_EXCEPT = 0o20000;
export const MSG_COPY = 0o40000;
const S_IRUGO = 0o444;
const S_IWUGO = 0o222;
/** sizeof(struct msqid64_ds) on riscv64. */
const MSQID64_DS_SIZE = 120;
/** MSGSSZ, MSGPOOL, MSGSEG of IPC_INFO. */
const MSGSSZ = 16;
const MSGPOOL = (MSGMNI * MSGMNB) / 1024;
const MSGSEG = 0xffff;

/** struct msg_msg. */
export interface MsgMsg {
  type: number;
  data: Uint8Array;
}

/** struct msg_queue. */
export class MsgQueue implements IpcObject {
  messages: MsgMsg[] = [];
  qbytes: number;
  cbytes = 0;
  stime = 0;
  rtime = 0;
  ctime: number;
  lspid = 0;
  lrpid = 0;
  /** q_receivers / q_senders: one queue for both; everyone re-checks on a change. */
  readonly wait = new WaitQueue();
  constructor(
    readonly perm: KernIpcPerm,
    now: number,
    qbytes: number,
  ) {
    this.ctime = now;
    this.qbytes = qbytes;
  }
}

const SEARCH_ANY = 1;
const SEARCH_EQUAL = 2;
const SEARCH_NOTEQUAL = 3;
const SEARCH_LESSEQUAL = 4;

/** convert_mode: the search mode for msgtyp and msgflg. */
function convertMode(msgtyp: number, msgflg: number): { mode: number; type: number } {
  if (msgtyp === 0) return { mode: SEARCH_ANY, type: 0 };
  if (msgtyp < 0) return { mode: SEARCH_LESSEQUAL, type: -msgtyp };
  return { mode: msgflg & MSG_EXCEPT ? SEARCH_NOTEQUAL : SEARCH_EQUAL, type: msgtyp };
}

/** find_msg: index of the message to receive, or -1. */
export function findMsg(messages: readonly MsgMsg[], msgtyp: number, msgflg: number): number {
  const { mode } = convertMode(msgtyp, msgflg);
  let { type } = convertMode(msgtyp, msgflg);
  let found = -1;
  for (let i = 0; i < messages.length; i++) {
    const t = messages[i]!.type;
    let ok: boolean;
    switch (mode) {
      case SEARCH_ANY:
        ok = true;
        break;
      case SEARCH_EQUAL:
        ok = t === type;
        break;
      case SEARCH_NOTEQUAL:
        ok = t !== type;
        break;
      default:
        ok = t <= type;
        break;
    }
    if (!ok) continue;
    if (mode === SEARCH_LESSEQUAL && t !== 1) {
      // Keep looking for a lower type (the lowest type ≤ |msgtyp| wins, first of equals).
      found = i;
      type = t - 1;
      continue;
    }
    return i;
  }
  return found;
}

/** msgget(key, msgflg). */
export function sysMsgget(task: Task, key: number, msgflg: number): number {
  const ns = ipcNs(task.kernel);
  const flg = msgflg | 0;
  return ipcget(task, ns.msgIds, key | 0, flg, () => {
    if (ns.msgIds.inUse >= ns.msgCtlmni) return -E.ENOSPC;
    return new MsgQueue(new KernIpcPerm(key | 0, flg & 0o777, task.cred), nowSeconds(task), ns.msgCtlmnb);
  });
}

/** Wait on the queue; resolves with 0 to re-check, or the error to return. */
async function msgSleep(task: Task, msq: MsgQueue): Promise<number> {
  const r = await sleepOn(task, msq.wait);
  if (msq.perm.deleted) return -E.EIDRM;
  if (r !== 0) return -E.ERESTARTNOHAND;
  return 0;
}

/** do_msgsnd. */
export function doMsgsnd(
  task: Task,
  msqid: number,
  mtype: number,
  text: Uint8Array,
  msgflg: number,
): number | Promise<number> {
  const ns = ipcNs(task.kernel);
  if (text.length > ns.msgCtlmax || msqid < 0) return -E.EINVAL;
  if (mtype < 1) return -E.EINVAL;
  const msq = ns.msgIds.obtainCheck(msqid);
  if (typeof msq === 'number') return msq;
  const attempt = (): number | null => {
    if (msq.perm.deleted) return -E.EIDRM;
    if (ipcperms(task.cred, msq.perm, S_IWUGO) < 0) return -E.EACCES;
    // msg_fits_inqueue: bytes and the number of messages are both bounded by qbytes.
    if (msq.cbytes + text.length <= msq.qbytes && msq.messages.length + 1 <= msq.qbytes) {
      msq.messages.push({ type: mtype, data: text.slice() });
      msq.cbytes += text.length;
      msq.lspid = task.tgid;
      msq.stime = nowSeconds(task);
      ns.msgHdrs++;
      ns.msgBytes += text.length;
      msq.wait.wakeUp();
      return 0;
    }
    if (msgflg & IPC_NOWAIT) return -E.EAGAIN;
    return null;
  };
  const r = attempt();
  if (r !== null) return r;
  return (async () => {
    for (;;) {
      const s = await msgSleep(task, msq);
      if (s !== 0) return s;
      const r2 = attempt();
      if (r2 !== null) return r2;
    }
  })();
}

export function sysMsgsnd(
  task: Task,
  msqid: number,
  msgp: number,
  msgsz: number,
  msgflg: number,
): number | Promise<number> {
  const ns = ipcNs(task.kernel);
  // msgsz is a size_t; anything above MSGMAX (or "negative") is EINVAL.
  if (msgsz < 0 || msgsz > ns.msgCtlmax || (msqid | 0) < 0) return -E.EINVAL;
  const mtype = getUser64(task.mm, msgp);
  if (mtype === null) return -E.EFAULT;
  if (mtype < 1) return -E.EINVAL;
  const text = copyFromUser(task.mm, msgp + 8, msgsz);
  if (typeof text === 'number') return -E.EFAULT;
  return doMsgsnd(task, msqid | 0, mtype, text, msgflg | 0);
}

/**
 * do_msgrcv: take the matching message; E2BIG when it is longer than msgsz without
 * MSG_NOERROR (it stays queued). `deliver` copies it out and returns the byte count.
 */
export function doMsgrcv(
  task: Task,
  msqid: number,
  msgsz: number,
  msgtyp: number,
  msgflg: number,
  deliver: (m: MsgMsg, len: number) => number,
): number | Promise<number> {
  const ns = ipcNs(task.kernel);
  if (msqid < 0) return -E.EINVAL;
  if (msgflg & MSG_COPY) {
    // MSG_COPY is a CONFIG_CHECKPOINT_RESTORE feature: not built here.
    return -E.ENOSYS;
  }
  const msq = ns.msgIds.obtainCheck(msqid);
  if (typeof msq === 'number') return msq;
  const attempt = (): number | null => {
    if (msq.perm.deleted) return -E.EIDRM;
    if (ipcperms(task.cred, msq.perm, S_IRUGO) < 0) return -E.EACCES;
    const i = findMsg(msq.messages, msgtyp, msgflg);
    if (i >= 0) {
      const m = msq.messages[i]!;
      if (msgsz < m.data.length && !(msgflg & MSG_NOERROR)) return -E.E2BIG;
      msq.messages.splice(i, 1);
      msq.cbytes -= m.data.length;
      msq.lrpid = task.tgid;
      msq.rtime = nowSeconds(task);
      ns.msgHdrs--;
      ns.msgBytes -= m.data.length;
      msq.wait.wakeUp();
      return deliver(m, Math.min(msgsz, m.data.length));
    }
    if (msgflg & IPC_NOWAIT) return -E.ENOMSG;
    return null;
  };
  const r = attempt();
  if (r !== null) return r;
  return (async () => {
    for (;;) {
      const s = await msgSleep(task, msq);
      if (s !== 0) return s;
      const r2 = attempt();
      if (r2 !== null) return r2;
    }
  })();
}

export function sysMsgrcv(
  task: Task,
  msqid: number,
  msgp: number,
  msgsz: number,
  msgtyp: number,
  msgflg: number,
): number | Promise<number> {
  if (msgsz < 0) return -E.EINVAL;
  const sz = Math.min(msgsz, 0x7fffffff);
  return doMsgrcv(task, msqid | 0, sz, msgtyp, msgflg | 0, (m, len) => {
    // store_msg: mtype, then the text. A fault here loses the message, as in Linux.
    const b = new Uint8Array(8 + len);
    const v = new DataView(b.buffer);
    setI64(v, 0, m.type);
    b.set(m.data.subarray(0, len), 8);
    return copyToUser(task.mm, msgp, b) < 0 ? -E.EFAULT : len;
  });
}

/** struct msginfo for IPC_INFO / MSG_INFO. */
function msgInfo(task: Task, ns: IpcNamespace, arg: number, cmd: number): number {
  const b = new Uint8Array(32);
  const v = new DataView(b.buffer);
  const info = [MSGPOOL, MSGMNB, ns.msgCtlmax, ns.msgCtlmnb, ns.msgCtlmni, MSGSSZ, MSGMNB];
  if (cmd === MSG_INFO) {
    info[0] = ns.msgIds.inUse; // msgpool: queues in use
    info[1] = ns.msgHdrs; // msgmap: messages
    info[6] = ns.msgBytes; // msgtql: bytes
  }
  info.forEach((x, i) => v.setInt32(i * 4, x, true));
  v.setUint16(28, MSGSEG, true);
  if (copyToUser(task.mm, arg, b) < 0) return -E.EFAULT;
  const m = ns.msgIds.maxIdx();
  return m < 0 ? 0 : m;
}

/** msgctl(msqid, cmd, buf). */
export function sysMsgctl(task: Task, msqid: number, cmdArg: number, buf: number): number {
  const ns = ipcNs(task.kernel);
  const id = msqid | 0;
  const cmd = (cmdArg | 0) & ~IPC_64;
  if (id < 0) return -E.EINVAL;
  switch (cmd) {
    case IPC_INFO:
    case MSG_INFO:
      return msgInfo(task, ns, buf, cmd);
    case IPC_STAT:
    case MSG_STAT:
    case MSG_STAT_ANY: {
      const msq = cmd === IPC_STAT ? ns.msgIds.obtainCheck(id) : ns.msgIds.obtainIdx(id);
      if (typeof msq === 'number') return msq;
      if (cmd !== MSG_STAT_ANY && ipcperms(task.cred, msq.perm, S_IRUGO) < 0) return -E.EACCES;
      const b = new Uint8Array(MSQID64_DS_SIZE);
      const v = new DataView(b.buffer);
      fillIpc64Perm(v, 0, msq.perm);
      setI64(v, 48, msq.stime);
      setI64(v, 56, msq.rtime);
      setI64(v, 64, msq.ctime);
      setI64(v, 72, msq.cbytes);
      setI64(v, 80, msq.messages.length);
      setI64(v, 88, msq.qbytes);
      v.setInt32(96, msq.lspid, true);
      v.setInt32(100, msq.lrpid, true);
      if (copyToUser(task.mm, buf, b) < 0) return -E.EFAULT;
      return cmd === IPC_STAT ? 0 : msq.perm.id;
    }
    case IPC_SET: {
      const msq = ns.msgIds.obtainCheck(id);
      if (typeof msq === 'number') return msq;
      const r = readIpc64Perm(task, buf, MSQID64_DS_SIZE);
      if (typeof r === 'number') return r;
      if (!ipcOwnerOrCapable(task.cred, msq.perm)) return -E.EPERM;
      const qbytes = r.v.getUint32(88, true) + r.v.getUint32(92, true) * 4294967296;
      if (qbytes > ns.msgCtlmnb && !ipcCapable(task.cred)) return -E.EPERM;
      const e = ipcUpdatePerm(r.perm, msq.perm);
      if (e < 0) return e;
      msq.qbytes = qbytes;
      msq.ctime = nowSeconds(task);
      // A larger queue may let senders in.
      msq.wait.wakeUp();
      return 0;
    }
    case IPC_RMID: {
      const msq = ns.msgIds.obtainCheck(id);
      if (typeof msq === 'number') return msq;
      if (!ipcOwnerOrCapable(task.cred, msq.perm)) return -E.EPERM;
      ns.msgIds.remove(msq);
      for (const m of msq.messages) {
        ns.msgHdrs--;
        ns.msgBytes -= m.data.length;
      }
      msq.messages = [];
      msq.cbytes = 0;
      msq.wait.wakeUp();
      return 0;
    }
    default:
      return -E.EINVAL;
  }
}

export { MSGMAX };
