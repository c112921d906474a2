/**
 * Unix98 pseudo-terminals (drivers/tty/pty.c): /dev/ptmx (5:2, or pts/ptmx) opens a new master
 * whose slave appears as /dev/pts/N (136:N) in the devpts instance beside it. What the master
 * writes is the slave's input (through the slave's n_tty: echo, editing, signals); what the
 * slave writes (after its OPOST) is the master's input. The slave is locked until unlockpt
 * (TIOCSPTLCK 0). When the slave's last file closes, the master reads what is left then EIO;
 * when the master closes, the slave is hung up (reads 0, writes EIO) and its node disappears.
 */
import { EINVAL, EIO, ENODEV, ENOSPC, EFAULT } from '../errno.js';
import { registerChrdev } from '../fs/char_dev.js';
import type { File, FileOperations } from '../fs/file.js';
import type { Inode } from '../fs/inode.js';
import { followMount, lookupChild } from '../fs/namei.js';
import { vfsOpen } from '../fs/open.js';
import type { Path } from '../fs/path.js';
import { makeDev } from '../fs/super.js';
import { O_CLOEXEC, O_NOCTTY, O_PATH } from '../fs/uapi.js';
import { getUser32, putUser32 } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { SIGINT, SIGQUIT, SIGTSTP } from '../signal/signum.js';
import {
  devptsFsInfo,
  devptsKillIndex,
  devptsNewIndex,
  devptsPtyKill,
  devptsPtyNew,
  isDevpts,
  type PtsFsInfo,
} from '../fs/devpts/inode.js';
import { B38400, CREAD, CS8, CSIZE, PARENB, ttyStdTermios, type Termios } from './termios.js';
import { ttyHangup, ttyOpenFile, TTYAUX_MAJOR } from './tty_io.js';
import { killPgrp } from './tty_jobctrl.js';
import { PTY_TYPE_MASTER, PTY_TYPE_SLAVE, TTY_DRIVER_TYPE_PTY, TtyStruct, type TtyOperations } from './tty_struct.js';

export const PTMX_MINOR = 2;
/** UNIX98_PTY_SLAVE_MAJOR. */
export const UNIX98_PTY_SLAVE_MAJOR = 136;
/** Slave minors available (NR_UNIX98_PTY_MAX = 1 << MINORBITS). */
export const NR_UNIX98_PTY_MAX = 1 << 20;

const TIOCSPTLCK = 0x40045431;
const TIOCGPTLCK = 0x80045439;
const TIOCGPTN = 0x80045430;
const TIOCSIG = 0x40045436;
const TIOCGPTPEER = 0x5441;
const TIOCPKT = 0x5420;

/** What the two halves share. */
interface PtyPair {
  index: number;
  fsi: PtsFsInfo;
  /** The devpts mount the master was opened through (devpts_mntget), for TIOCGPTPEER. */
  mnt: Path['mnt'];
  slaveInode: Inode | null;
}

function pair(tty: TtyStruct): PtyPair {
  return tty.driverData as PtyPair;
}

/** pty_write: straight into the other side's flip buffer (nothing while output is stopped). */
function ptyWrite(tty: TtyStruct, data: Uint8Array): number {
  const to = tty.link;
  if (!to || tty.stopped || data.length === 0) return 0;
  return to.receive(data);
}

/** pty_write_room: the other side's free flip-buffer space. */
function ptyWriteRoom(tty: TtyStruct): number {
  if (tty.stopped || !tty.link) return 0;
  return tty.link.flipRoom;
}

/** pty_flush_buffer: drop what the other side has not taken in yet. */
function ptyFlushBuffer(tty: TtyStruct): void {
  tty.link?.flushFlip();
}

/** pty_unthrottle: our reader made room, so the other side's writers may go on. */
function ptyUnthrottle(tty: TtyStruct): void {
  tty.link?.wakeWrite();
}

/** pty_open. */
function ptyOpen(tty: TtyStruct): number {
  const link = tty.link;
  if (!link) return -ENODEV;
  let ok = !tty.otherClosed;
  if (ok && tty.subtype === PTY_TYPE_SLAVE && (link.ptyLocked || link.count !== 1)) ok = false;
  if (!ok) {
    tty.ioError = true;
    return -EIO;
  }
  tty.ioError = false;
  link.otherClosed = false;
  return 0;
}

/** pty_close: the last slave file, or the master, going away. */
function ptyClose(tty: TtyStruct): void {
  if (tty.subtype === PTY_TYPE_SLAVE) {
    if (tty.ioError || tty.count > 1) return;
  }
  tty.ioError = true;
  tty.wakeRead();
  tty.wakeWrite();
  const link = tty.link;
  if (!link) return;
  link.otherClosed = true;
  link.wakeRead();
  link.wakeWrite();
  if (tty.subtype === PTY_TYPE_MASTER) {
    tty.otherClosed = true;
    const p = pair(tty);
    if (p.slaveInode) {
      devptsPtyKill(p.fsi, p.index);
      p.slaveInode = null;
    }
    ttyHangup(link);
  }
}

/** pty_unix98_remove + pty_cleanup: both halves closed; the index is free again. */
function ptyRemove(tty: TtyStruct): void {
  const link = tty.link;
  if (link && link.count > 0) return;
  const p = pair(tty);
  if (p.slaveInode) {
    devptsPtyKill(p.fsi, p.index);
    p.slaveInode = null;
  }
  devptsKillIndex(p.fsi, p.index);
}

/** pty_set_termios (slave): a pty is always 8 bits, never parity. */
function ptySetTermios(tty: TtyStruct): void {
  tty.termios.cflag = (tty.termios.cflag & ~(CSIZE | PARENB)) | CS8 | CREAD;
}

/** ptm_open_peer (TIOCGPTPEER): open the slave through the master's devpts mount, as a new fd. */
function ptmOpenPeer(master: TtyStruct, task: Task, flags: number): number {
  const p = pair(master);
  if (!p.slaveInode) return -EIO;
  const root = { mnt: p.mnt, dentry: p.mnt.root };
  const d = lookupChild(root, String(p.index), task);
  if (d === null || typeof d === 'number') return -EIO;
  if (flags & O_PATH) return -EINVAL;
  const file = vfsOpen(d, flags | O_NOCTTY, task);
  if (typeof file === 'number') return file;
  const fd = task.files.install(file, (flags & O_CLOEXEC) !== 0);
  if (fd < 0) file.put();
  return fd;
}

/** pty_unix98_ioctl (master). */
function ptmIoctl(tty: TtyStruct, _file: File, task: Task, cmd: number, arg: number): number | null {
  switch (cmd) {
    case TIOCSPTLCK: {
      const v = getUser32(task.mm, arg);
      if (v === null) return -EFAULT;
      tty.ptyLocked = v !== 0;
      return 0;
    }
    case TIOCGPTLCK:
      return putUser32(task.mm, arg, tty.ptyLocked ? 1 : 0) < 0 ? -EFAULT : 0;
    case TIOCGPTN:
      return putUser32(task.mm, arg, tty.index) < 0 ? -EFAULT : 0;
    case TIOCSIG: {
      // pty_signal: INT, QUIT or TSTP to the slave's foreground group.
      const sig = arg | 0;
      if (sig !== SIGINT && sig !== SIGQUIT && sig !== SIGTSTP) return -EINVAL;
      const slave = tty.link;
      if (slave && slave.pgrp && slave.kernel) killPgrp(slave.kernel, slave.pgrp, sig);
      return 0;
    }
    case TIOCGPTPEER:
      return ptmOpenPeer(tty, task, arg | 0);
    case TIOCPKT:
      return -EINVAL; // packet mode is not implemented here (n_tty's TIOCPKT_* framing)
  }
  return null;
}

/** What both ends of a pair do alike (pty.c's pty_write, pty_write_room, pty_open, pty_close …). */
const ptyCommonOps: TtyOperations = {
  write: ptyWrite,
  writeRoom: ptyWriteRoom,
  flushBuffer: ptyFlushBuffer,
  unthrottle: ptyUnthrottle,
  open: (tty) => ptyOpen(tty),
  close: (tty) => ptyClose(tty),
  remove: ptyRemove,
};

/** ptm_unix98_ops: the master. */
const ptmOps: TtyOperations = { ...ptyCommonOps, ioctl: ptmIoctl };

/** pty_unix98_ops: the slave, which also follows termios changes and restarts output. */
const ptsOps: TtyOperations = {
  ...ptyCommonOps,
  // TIOCGPTPEER is a master-only call (ptm_open_peer: -EIO on anything else).
  ioctl: (_tty, _file, _task, cmd) => (cmd === TIOCGPTPEER ? -EIO : null),
  setTermios: ptySetTermios,
  start: (tty) => tty.link?.wakeRead(),
};

/** The master's initial termios (unix98_pty_init: ptm_driver->init_termios). */
function masterTermios(): Termios {
  const t = ttyStdTermios();
  t.iflag = 0;
  t.oflag = 0;
  t.cflag = CS8 | CREAD;
  t.lflag = 0;
  return t;
}

function slaveTermios(): Termios {
  const t = ttyStdTermios();
  t.cflag = B38400 | CS8 | CREAD;
  return t;
}

/**
 * devpts_acquire: the devpts instance of a ptmx open — the file's own filesystem when it is
 * pts/ptmx, else the `pts` directory beside /dev/ptmx (-ENODEV when devpts is not mounted there).
 */
function devptsAcquire(file: File, task: Task | null): { fsi: PtsFsInfo; mnt: Path['mnt'] } | number {
  const path = file.path;
  if (isDevpts(path.dentry.inode.sb)) return { fsi: devptsFsInfo(path.dentry.inode.sb), mnt: path.mnt };
  const parent: Path = { mnt: path.mnt, dentry: path.dentry.parent };
  const pts = lookupChild(parent, 'pts', task);
  if (pts === null || typeof pts === 'number') return -ENODEV;
  const m = followMount(pts);
  if (!isDevpts(m.dentry.inode.sb) || m.dentry !== m.mnt.root) return -ENODEV;
  return { fsi: devptsFsInfo(m.dentry.inode.sb), mnt: m.mnt };
}

/** ptmx_open: a new pty pair; the caller gets the master, the slave node appears (locked). */
function ptmxOpen(_inode: Inode, file: File, task: Task | null): number {
  if (!task) return -ENODEV;
  const acq = devptsAcquire(file, task);
  if (typeof acq === 'number') return acq;
  const { fsi, mnt } = acq;
  const index = devptsNewIndex(fsi);
  if (index < 0) return index === -ENOSPC ? -ENOSPC : index;
  const kernel = task.kernel;
  const master = new TtyStruct(
    kernel,
    ptmOps,
    `ptm${index}`,
    index,
    makeDev(128, index),
    TTY_DRIVER_TYPE_PTY,
    PTY_TYPE_MASTER,
    masterTermios(),
  );
  const slave = new TtyStruct(
    kernel,
    ptsOps,
    `pts/${index}`,
    index,
    makeDev(UNIX98_PTY_SLAVE_MAJOR, index),
    TTY_DRIVER_TYPE_PTY,
    PTY_TYPE_SLAVE,
    slaveTermios(),
  );
  master.link = slave;
  slave.link = master;
  const p: PtyPair = { index, fsi, mnt, slaveInode: null };
  master.driverData = p;
  slave.driverData = p;
  master.ptyLocked = true; // LOCK THE SLAVE
  p.slaveInode = devptsPtyNew(fsi, index, slave, task.cred);
  const r = ttyOpenFile(master, file, task, { fresh: true, noctty: true });
  if (r < 0) {
    ptyRemove(master);
    return r;
  }
  return 0;
}

/** Opening /dev/pts/N: the slave tty is the node's private data (devpts_get_priv). */
function ptsOpen(inode: Inode, file: File, task: Task | null): number {
  const tty = inode.private_ as TtyStruct | null;
  if (!tty || !(tty instanceof TtyStruct)) return -EIO;
  return ttyOpenFile(tty, file, task, {});
}

export const ptmxFops: FileOperations = { open: ptmxOpen };
export const ptsFops: FileOperations = { open: ptsOpen };

/** unix98_pty_init: register /dev/ptmx (5:2) and the slave major 136. */
export function ptyRegister(): void {
  registerChrdev(TTYAUX_MAJOR, PTMX_MINOR, 1, 'ptmx', ptmxFops);
  registerChrdev(UNIX98_PTY_SLAVE_MAJOR, 0, NR_UNIX98_PTY_MAX, 'pts', ptsFops);
}
