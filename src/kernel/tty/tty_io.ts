/**
 * The tty core's file side (drivers/tty/tty_io.c): tty_open's common part, tty_read,
 * tty_write, tty_poll, tty_ioctl, tty_release, hangups (__tty_hangup), /dev/tty (5:0) and
 * ttyInit(), which registers every tty character device. Drivers (serial.ts, pty.ts) find or
 * create the TtyStruct in their chrdev open and hand it to ttyOpenFile.
 */
import { EBUSY, EFAULT, EINVAL, EIO, ENOTTY, ENXIO, EPERM, ESPIPE } from '../errno.js';
import { registerChrdev } from '../fs/char_dev.js';
import type { File, FileOperations, Kiocb } from '../fs/file.js';
import { FMODE_LSEEK, FMODE_PREAD, FMODE_PWRITE, FMODE_STREAM } from '../fs/file.js';
import type { Inode } from '../fs/inode.js';
import type { IovIter } from '../fs/iov_iter.js';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM } from '../fs/select.js';
import { O_NOCTTY, O_NONBLOCK } from '../fs/uapi.js';
import { copyFromUser, copyToUser, getUser32, putUser32 } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { SIGTTIN, SIGTTOU } from '../signal/signum.js';
import type { TtyIoContext } from './n_tty.js';
import { ttyModeIoctl } from './tty_ioctl.js';
import {
  getCurrentTty,
  setHangupHook,
  ttyCheckChange,
  ttyJobctrlIoctl,
  ttyOpenProcSetTty,
  ttyRegisterLive,
  ttySignalSessionLeader,
  ttyUnregisterLive,
} from './tty_jobctrl.js';
import { TOSTOP } from './termios.js';
import type { TtyStruct } from './tty_struct.js';
import { serialRegister } from './serial.js';
import { ptyRegister } from './pty.js';

export const TTY_MAJOR = 4;
export const TTYAUX_MAJOR = 5;

/** An open file on a tty (struct tty_file_private + the hung-up f_op swap). */
export interface TtyFile {
  tty: TtyStruct;
  /** hung_up_tty_fops installed (tty_hung_up_p). */
  hungUp: boolean;
  /** Opened as /dev/console (redirected_tty_write): no job-control checks, never a ctty on open. */
  console: boolean;
}

export function ttyFile(file: File): TtyFile {
  return file.private_ as TtyFile;
}

function ioCtx(file: File, task: Task | null, flags: number): TtyIoContext {
  const tf = ttyFile(file);
  return { task, nonblock: (flags & O_NONBLOCK) !== 0, hungUp: () => tf.hungUp };
}

/* ---------------- open / release ---------------- */

export interface TtyOpenOptions {
  /** Never acquire as controlling tty (O_NOCTTY, /dev/console, pty master). */
  noctty?: boolean;
  console?: boolean;
  /** A first open of a fresh tty (tty_init_dev) skips tty_reopen's checks. */
  fresh?: boolean;
}

/**
 * tty_open's common part after the driver found `tty`: tty_reopen checks (TIOCEXCL), the
 * driver's open, the file bound to the tty (nonseekable), and tty_open_proc_set_tty.
 */
export function ttyOpenFile(tty: TtyStruct, file: File, task: Task | null, opts: TtyOpenOptions = {}): number {
  if (!opts.fresh) {
    // tty_reopen: a pty master cannot be opened twice; TIOCEXCL keeps others out (root excepted).
    if (tty.isPtyMaster) return -EIO;
    if (tty.count > 0 && tty.exclusive && !(task && task.cred.euid === 0)) return -EBUSY;
  }
  const r = tty.ops.open ? tty.ops.open(tty, file) : 0;
  if (r < 0) return r;
  tty.count++;
  tty.files.add(file);
  file.op = ttyFops;
  file.private_ = { tty, hungUp: false, console: opts.console ?? false } satisfies TtyFile;
  // nonseekable_open.
  file.mode = (file.mode & ~(FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE)) | FMODE_STREAM;
  tty.hupped = false;
  if (tty.kernel) ttyRegisterLive(tty.kernel, tty);
  const noctty = opts.noctty || opts.console || (file.flags & O_NOCTTY) !== 0 || tty.isPtyMaster;
  if (!noctty && task) ttyOpenProcSetTty(task, file, tty);
  return 0;
}

/** tty_release: the driver's close, then the last close of a tty forgets its session. */
function ttyRelease(file: File): void {
  const tf = ttyFile(file);
  if (!tf) return;
  const tty = tf.tty;
  if (!tty.files.has(file)) return;
  tty.ops.close?.(tty, file);
  tty.files.delete(file);
  tty.count--;
  if (tty.count === 0) {
    // session_clear_tty for both sides of a pair once either is fully closed: nobody keeps a
    // controlling tty that has no opener (a pty slave stays someone's ctty while its master lives).
    if (!tty.link || tty.isPtyMaster) {
      tty.session = 0;
      tty.pgrp = 0;
      if (tty.link && tty.link.count === 0) {
        tty.link.session = 0;
        tty.link.pgrp = 0;
      }
    }
    if (!tty.link || tty.link.count === 0) {
      if (tty.kernel && tty.session === 0) ttyUnregisterLive(tty.kernel, tty);
      if (tty.link?.kernel && tty.link.session === 0) ttyUnregisterLive(tty.link.kernel, tty.link);
      tty.ops.remove?.(tty);
    }
  }
}

/* ---------------- hangup ---------------- */

/**
 * __tty_hangup: every open file of the tty is hung up (reads return 0, writes -EIO, poll
 * reports POLLHUP), the session leader gets SIGHUP and SIGCONT (and with `exitSession` the
 * foreground group SIGHUP), and the tty belongs to no session.
 */
export function ttyHangup(tty: TtyStruct, exitSession = false): void {
  for (const f of tty.files) {
    const tf = ttyFile(f);
    if (!tf.console) tf.hungUp = true;
  }
  const fg = tty.pgrp;
  ttySignalSessionLeader(tty);
  if (exitSession && fg && tty.kernel) {
    tty.pgrp = fg;
    tty.signalPgrp(1 /* SIGHUP */);
    tty.pgrp = 0;
  }
  tty.session = 0;
  tty.pgrp = 0;
  tty.ldisc.flushBuffer();
  tty.hupped = true;
  tty.wakeRead();
  tty.wakeWrite();
}

setHangupHook((tty) => ttyHangup(tty, true));

/* ---------------- read / write ---------------- */

/** tty_read → n_tty_read (with job_control first). */
function ttyRead(iocb: Kiocb, to: IovIter): number | Promise<number> {
  const file = iocb.file;
  const tf = ttyFile(file);
  if (tf.hungUp) return 0;
  const tty = tf.tty;
  if (tty.ioError) return -EIO;
  if (to.count === 0) return 0;
  const task = tty.kernel?.current ?? null;
  if (!tf.console) {
    const jc = ttyCheckChange(task, tty, SIGTTIN);
    if (jc < 0) return jc;
  }
  const copy = (data: Uint8Array | number): number => {
    if (typeof data === 'number') return data;
    if (data.length === 0) return 0;
    const n = to.copyTo(data);
    return n < 0 ? -EFAULT : n;
  };
  const r = tty.ldisc.read(ioCtx(file, task, iocb.flags), to.count);
  return r instanceof Promise ? r.then(copy) : copy(r);
}

/** tty_write → n_tty_write (with the TOSTOP check first). */
function ttyWrite(iocb: Kiocb, from: IovIter): number | Promise<number> {
  const file = iocb.file;
  const tf = ttyFile(file);
  if (tf.hungUp) return -EIO;
  const tty = tf.tty;
  if (tty.ioError) return -EIO;
  const task = tty.kernel?.current ?? null;
  if (tty.termios.lflag & TOSTOP && !tf.console) {
    const jc = ttyCheckChange(task, tty, SIGTTOU);
    if (jc < 0) return jc;
  }
  if (from.count === 0) return 0;
  const bytes = from.copyFrom(from.count);
  if (typeof bytes === 'number') return bytes;
  const data = bytes.slice();
  return tty.ldisc.write(ioCtx(file, task, iocb.flags), data);
}

/* ---------------- poll ---------------- */

const HUNG_UP_POLL = POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDNORM | POLLWRNORM;

/** tty_poll → n_tty_poll (hung_up_tty_poll once hung up). */
function ttyPoll(file: File): number {
  const tf = ttyFile(file);
  if (tf.hungUp) return HUNG_UP_POLL;
  const tty = tf.tty;
  let mask = 0;
  if (!tty.ldisc.inputAvailable(true)) tty.flushToLdisc();
  if (tty.ldisc.inputAvailable(true)) mask |= POLLIN | POLLRDNORM;
  if (tty.otherClosed) mask |= POLLHUP;
  if (tty.ldisc.writable()) mask |= POLLOUT | POLLWRNORM;
  return mask;
}

/* ---------------- ioctl ---------------- */

const TIOCEXCL = 0x540c;
const TIOCNXCL = 0x540d;
const TIOCSTI = 0x5412;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
const TIOCMGET = 0x5415;
const TIOCCONS = 0x541d;
const TIOCGETD = 0x5424;
const TIOCSETD = 0x5423;
const TCSBRK = 0x5409;
const TCSBRKP = 0x5425;
const TIOCSBRK = 0x5427;
const TIOCCBRK = 0x5428;
const TIOCVHANGUP = 0x5437;
const TIOCGDEV = 0x80045432;
const TIOCGEXCL = 0x80045440;
const TCFLSH = 0x540b;
const TCXONC = 0x540a;
const TIOCOUTQ = 0x5411;
const FIONREAD = 0x541b;
const TCIFLUSH = 0;
const TCOFLUSH = 1;
const TCIOFLUSH = 2;
const TCOOFF = 0;
const TCOON = 1;
const TCIOFF = 2;
const TCION = 3;

/** tty_ioctl: generic commands, then job control, the driver's, and n_tty's / tty_mode_ioctl. */
function ttyIoctl(file: File, task: Task, cmd: number, arg: number): number | Promise<number> {
  const tf = ttyFile(file);
  if (tf.hungUp) return cmd === 0x5410 /* TIOCSPGRP */ ? -ENOTTY : -EIO; // hung_up_tty_ioctl
  const tty = tf.tty;
  const real = tty.realTty;
  const mm = task.mm;
  switch (cmd) {
    case TIOCSETD:
    case TIOCSBRK:
    case TIOCCBRK:
    case TCSBRK:
    case TCSBRKP: {
      const r = ttyCheckChange(task, tty, SIGTTOU);
      if (r) return r;
      break; // output is never queued in our drivers: tty_wait_until_sent returns at once
    }
  }
  switch (cmd) {
    case TIOCSTI: {
      // tiocsti: fake input, for one's own controlling tty (or root).
      if (getCurrentTty(task) !== tty && task.cred.euid !== 0) return -EPERM;
      const b = copyFromUser(mm, arg, 1);
      if (typeof b === 'number') return -EFAULT;
      tty.ldisc.receiveBuf(b);
      return 0;
    }
    case TIOCGWINSZ: {
      const ws = new Uint8Array(8);
      const v = new DataView(ws.buffer);
      v.setUint16(0, real.winsize.row, true);
      v.setUint16(2, real.winsize.col, true);
      v.setUint16(4, real.winsize.xpixel, true);
      v.setUint16(6, real.winsize.ypixel, true);
      return copyToUser(mm, arg, ws) < 0 ? -EFAULT : 0;
    }
    case TIOCSWINSZ: {
      const b = copyFromUser(mm, arg, 8);
      if (typeof b === 'number') return -EFAULT;
      const v = new DataView(b.buffer, b.byteOffset, 8);
      real.resize(v.getUint16(0, true), v.getUint16(2, true), v.getUint16(4, true), v.getUint16(6, true));
      return 0;
    }
    case TIOCCONS:
      return real !== tty ? -EINVAL : task.cred.euid === 0 ? 0 : -EPERM;
    case TIOCEXCL:
      tty.exclusive = true;
      return 0;
    case TIOCNXCL:
      tty.exclusive = false;
      return 0;
    case TIOCGEXCL:
      return putUser32(mm, arg, tty.exclusive ? 1 : 0) < 0 ? -EFAULT : 0;
    case TIOCGETD:
      return putUser32(mm, arg, 0 /* N_TTY */) < 0 ? -EFAULT : 0;
    case TIOCSETD: {
      const d = getUser32(mm, arg);
      if (d === null) return -EFAULT;
      // Only N_TTY exists here (tty_set_ldisc would fail to load any other: -EINVAL).
      return d === 0 ? 0 : -EINVAL;
    }
    case TIOCVHANGUP:
      if (task.cred.euid !== 0) return -EPERM;
      ttyHangup(tty);
      return 0;
    case TIOCGDEV:
      return putUser32(mm, arg, real.rdev) < 0 ? -EFAULT : 0;
    case TIOCSBRK:
    case TIOCCBRK:
    case TCSBRK:
    case TCSBRKP:
      return 0; // no break_ctl in our drivers; tcdrain (TCSBRK arg != 0) has nothing to wait for
    case TIOCMGET:
      return -ENOTTY; // no modem lines (tty_tiocmget without tiocmget: -ENOTTY)
    case TCFLSH:
      if (arg === TCIFLUSH || arg === TCIOFLUSH) tty.flushFlip();
      break;
  }
  const jc = ttyJobctrlIoctl(tty, real, file, task, cmd, arg);
  if (jc !== null) return jc;
  if (tty.ops.ioctl) {
    const r = tty.ops.ioctl(tty, file, task, cmd, arg);
    if (r !== null) return r;
  }
  return nTtyIoctl(tty, task, cmd, arg);
}

/** n_tty_ioctl + n_tty_ioctl_helper. */
function nTtyIoctl(tty: TtyStruct, task: Task, cmd: number, arg: number): number | Promise<number> {
  switch (cmd) {
    case TIOCOUTQ:
      return putUser32(task.mm, arg, tty.ops.charsInBuffer?.(tty) ?? 0) < 0 ? -EFAULT : 0;
    case FIONREAD:
      tty.flushToLdisc();
      return putUser32(task.mm, arg, tty.ldisc.inq()) < 0 ? -EFAULT : 0;
    case TCXONC: {
      const r = ttyCheckChange(task, tty, SIGTTOU);
      if (r) return r;
      switch (arg) {
        case TCOOFF:
          if (!tty.tcoStopped) {
            tty.tcoStopped = true;
            tty.stopped = false;
            tty.stop();
          }
          return 0;
        case TCOON:
          if (tty.tcoStopped) {
            tty.tcoStopped = false;
            tty.start();
          }
          return 0;
        case TCIOFF:
        case TCION: {
          // tty_send_xchar: the STOP/START character goes to the other end.
          const c = tty.termios.cc[arg === TCIOFF ? 9 : 8]!;
          if (c !== 0) tty.ops.write(tty, Uint8Array.of(c));
          return 0;
        }
        default:
          return -EINVAL;
      }
    }
    case TCFLSH: {
      const r = ttyCheckChange(task, tty, SIGTTOU);
      if (r) return r;
      switch (arg) {
        case TCIFLUSH:
          tty.ldisc.flushBuffer();
          return 0;
        case TCIOFLUSH:
          tty.ldisc.flushBuffer();
          tty.ops.flushBuffer?.(tty);
          return 0;
        case TCOFLUSH:
          tty.ops.flushBuffer?.(tty);
          return 0;
        default:
          return -EINVAL;
      }
    }
  }
  const r = ttyModeIoctl(tty, task, cmd, arg);
  return r === null ? -ENOTTY : r;
}

export const ttyFopsImpl = {
  readIter: ttyRead,
  writeIter: ttyWrite,
  poll: ttyPoll,
  pollWait: (file: File): Promise<void> => ttyFile(file).tty.pollWait(),
  /** epoll's wake-callback registration (FileOperations.pollAdd when the poll owner adds it). */
  pollAdd: (file: File, cb: () => void): (() => void) => ttyFile(file).tty.pollAdd(cb),
  ioctl: ttyIoctl,
  release: ttyRelease,
  llseek: (): number => -ESPIPE,
};
/** tty_fops: the operations of every open tty file. */
export const ttyFops: FileOperations = ttyFopsImpl;

/* ---------------- /dev/tty ---------------- */

/** tty_open_current_tty: /dev/tty is the opener's controlling tty (ENXIO without one). */
const devTtyFops: FileOperations = {
  open(_inode: Inode, file: File, task: Task | null): number {
    if (!task) return -ENXIO;
    const tty = getCurrentTty(task);
    if (!tty) return -ENXIO;
    // "Don't let /dev/tty block": the driver open sees O_NONBLOCK (f_flags restored after).
    const saved = file.flags;
    file.flags |= O_NONBLOCK;
    const r = ttyOpenFile(tty, file, task, { noctty: true });
    file.flags = saved;
    return r;
  },
};

let registered = false;

/**
 * tty_init + the drivers' init (pty_init, serial8250_init): register /dev/tty (5:0),
 * /dev/console (5:1), /dev/ttyS0 (4:64), /dev/ptmx (5:2) and the pty slaves (136:N).
 * Idempotent; the character-device registry is shared by every machine in the process.
 */
export function ttyInit(): void {
  if (registered) return;
  registered = true;
  registerChrdev(TTYAUX_MAJOR, 0, 1, 'tty', devTtyFops);
  serialRegister();
  ptyRegister();
}
