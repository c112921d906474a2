import { EAGAIN, EFAULT, EINVAL, ENOTTY, ESPIPE } from '../errno.js';
import type { File, FileOperations, Kiocb } from '../fs/file.js';
import type { IovIter } from '../fs/iov_iter.js';
import { POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM } from '../fs/select.js';
import {
  FIONREAD,
  O_NONBLOCK,
  TCFLSH,
  TCGETS,
  TCSBRK,
  TCSETS,
  TCSETSF,
  TCSETSW,
  TCXONC,
  TIOCGPGRP,
  TIOCGSID,
  TIOCGWINSZ,
  TIOCNOTTY,
  TIOCOUTQ,
  TIOCSCTTY,
  TIOCSPGRP,
  TIOCSWINSZ,
} from '../fs/uapi.js';
import { copyFromUser, copyToUser, getUser32, putUser32 } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import type { CharStream } from '../../machine/dev/char-stream.js';
import { TERMIOS_SIZE, decodeTermios, encodeTermios, stdTermios, type Termios } from './termios.js';

/**
 * The "stdio tty": the character device behind fds 0, 1 and 2 of `labvisor exec`/`run`,
 * a thin tty over a host CharStream (what a serial driver is to a real tty, minus n_tty).
 * Bytes pass through unchanged both ways: the host terminal does echo, line editing and
 * ONLCR. Full n_tty with job control is a later issue (drivers/tty/n_tty.c).
 *
 * tty ioctls succeed only when the host side is a terminal (`stream.isTty`); otherwise
 * they fail with ENOTTY, exactly as qemu-user forwarding them to a non-tty host fd does.
 */

/** What the three stdio streams of one terminal share (struct tty_struct's termios, winsize, pgrp). */
export class TtyState {
  termios: Termios = stdTermios();
  /** Foreground process group (tty->pgrp); 0 = none yet, reported as the asking task's. */
  pgrp = 0;
}

export class StdioTty {
  constructor(
    readonly stream: CharStream,
    readonly state: TtyState,
  ) {}
}

/** Bytes taken from the host stream per read. */
const READ_CHUNK = 65536;
/** Bytes written to the host stream per step of a large write. */
const WRITE_CHUNK = 1 << 20;

function ttyOf(file: File): StdioTty {
  return file.private_ as StdioTty;
}

function readOnce(tty: StdioTty, to: IovIter): number | null {
  const data = tty.stream.read(Math.min(to.count, READ_CHUNK));
  if (data === null) return null;
  if (data.length === 0) return 0;
  return to.copyTo(data);
}

/** tty_read: return what is buffered; sleep (a Promise) when nothing is, unless O_NONBLOCK. */
function ttyRead(iocb: Kiocb, to: IovIter): number | Promise<number> {
  if (to.count === 0) return 0;
  const tty = ttyOf(iocb.file);
  const r = readOnce(tty, to);
  if (r !== null) return r;
  if (iocb.flags & O_NONBLOCK) return -EAGAIN;
  const wait = async (): Promise<number> => {
    for (;;) {
      await tty.stream.whenReadable();
      const n = readOnce(tty, to);
      if (n !== null) return n;
    }
  };
  return wait();
}

/** tty_write: one copy from user memory, one write to the host per call (chunked only when huge). */
function ttyWrite(iocb: Kiocb, from: IovIter): number {
  const tty = ttyOf(iocb.file);
  let done = 0;
  while (from.count > 0) {
    const bytes = from.copyFrom(Math.min(from.count, WRITE_CHUNK));
    if (typeof bytes === 'number') return done > 0 ? done : bytes;
    if (bytes.length === 0) break;
    tty.stream.write(bytes);
    done += bytes.length;
  }
  return done;
}

/** tty_ioctl / tty_mode_ioctl for the calls programs make on a terminal. */
function ttyIoctl(file: File, task: Task, cmd: number, arg: number): number {
  const tty = ttyOf(file);
  const stream = tty.stream;
  if (!stream.isTty) return -ENOTTY;
  switch (cmd >>> 0) {
    case TCGETS:
      return copyToUser(task.mm, arg, encodeTermios(tty.state.termios)) < 0 ? -EFAULT : 0;
    case TCSETS:
    case TCSETSW:
    case TCSETSF: {
      const b = copyFromUser(task.mm, arg, TERMIOS_SIZE);
      if (typeof b === 'number') return -EFAULT;
      tty.state.termios = decodeTermios(b);
      return 0;
    }
    case TIOCGWINSZ: {
      const ws = new Uint8Array(8);
      const v = new DataView(ws.buffer);
      v.setUint16(0, stream.rows, true);
      v.setUint16(2, stream.cols, true);
      return copyToUser(task.mm, arg, ws) < 0 ? -EFAULT : 0;
    }
    case TIOCSWINSZ: {
      const b = copyFromUser(task.mm, arg, 8);
      if (typeof b === 'number') return -EFAULT;
      const v = new DataView(b.buffer, b.byteOffset, 8);
      stream.rows = v.getUint16(0, true);
      stream.cols = v.getUint16(2, true);
      return 0;
    }
    case FIONREAD:
    case TIOCOUTQ:
      // The CharStream does not say how much is buffered; report nothing pending.
      return putUser32(task.mm, arg, 0) < 0 ? -EFAULT : 0;
    case TIOCGPGRP:
      return putUser32(task.mm, arg, tty.state.pgrp || task.tgid) < 0 ? -EFAULT : 0;
    case TIOCSPGRP: {
      const pg = getUser32(task.mm, arg);
      if (pg === null) return -EFAULT;
      if (pg <= 0) return -EINVAL;
      tty.state.pgrp = pg;
      return 0;
    }
    case TIOCGSID:
      return putUser32(task.mm, arg, task.tgid) < 0 ? -EFAULT : 0;
    case TIOCSCTTY:
    case TIOCNOTTY:
    case TCSBRK:
    case TCXONC:
    case TCFLSH:
      return 0;
    default:
      return -ENOTTY;
  }
}

/**
 * n_tty_poll: readable when input is buffered or at end of file (a zero-byte take from the
 * stream tells which without consuming anything); output never blocks.
 */
function ttyPoll(file: File): number {
  let mask = 0;
  if (file.readable && ttyOf(file).stream.read(0) !== null) mask |= POLLIN | POLLRDNORM;
  if (file.writable) mask |= POLLOUT | POLLWRNORM;
  return mask;
}

export const stdioTtyFops: FileOperations = {
  poll: ttyPoll,
  pollWait: (file: File) => ttyOf(file).stream.whenReadable(),
  readIter: ttyRead,
  writeIter: ttyWrite,
  ioctl: ttyIoctl,
  llseek: () => -ESPIPE,
};
