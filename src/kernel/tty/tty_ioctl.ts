/**
 * Terminal settings (drivers/tty/tty_ioctl.c: tty_mode_ioctl, set_termios, tty_set_termios):
 * TCGETS/TCSETS/TCSETSW/TCSETSF (struct termios, 36 bytes on riscv64), TCGETS2/TCSETS2/W2/F2
 * (struct termios2, with speeds), TCGETA/TCSETA* (struct termio), TIOCGLCKTRMIOS/TIOCSLCKTRMIOS,
 * TIOCGSOFTCAR/TIOCSSOFTCAR. A pty master's settings are its slave's (tty_pair_get_tty).
 */
import { EFAULT, EPERM } from '../errno.js';
import { copyFromUser, copyToUser, getUser32, putUser32 } from '../mm/uaccess.js';
import type { Task } from '../sched/task.js';
import { SIGTTOU } from '../signal/signum.js';
import {
  CLOCAL,
  TERMIOS2_SIZE,
  TERMIOS_SIZE,
  copyTermios,
  decodeTermios,
  decodeTermios2,
  encodeTermios,
  encodeTermios2,
  termiosBaudRate,
  type Termios,
} from './termios.js';
import { ttyCheckChange } from './tty_jobctrl.js';
import type { TtyStruct } from './tty_struct.js';

export const TCGETS = 0x5401;
export const TCSETS = 0x5402;
export const TCSETSW = 0x5403;
export const TCSETSF = 0x5404;
export const TCGETA = 0x5405;
export const TCSETA = 0x5406;
export const TCSETAW = 0x5407;
export const TCSETAF = 0x5408;
export const TIOCGSOFTCAR = 0x5419;
export const TIOCSSOFTCAR = 0x541a;
export const TIOCGLCKTRMIOS = 0x5456;
export const TIOCSLCKTRMIOS = 0x5457;
/** _IOR('T', 0x2A, struct termios2) and the _IOW set variants (asm-generic/ioctls.h). */
export const TCGETS2 = 0x802c542a;
export const TCSETS2 = 0x402c542b;
export const TCSETSW2 = 0x402c542c;
export const TCSETSF2 = 0x402c542d;

/** struct termio: four unsigned shorts, c_line, c_cc[NCC = 8]; 18 bytes with padding. */
const TERMIO_SIZE = 18;
const NCC = 8;

/**
 * tty_set_termios: install new settings; the driver adjusts the hardware part (pty_set_termios
 * forces CS8|CREAD) and n_tty rebuilds its state.
 */
export function ttySetTermios(tty: TtyStruct, t: Termios): void {
  const old = tty.termios;
  const next = copyTermios(t);
  next.ispeed = t.ispeed ?? termiosBaudRate(next);
  next.ospeed = t.ospeed ?? termiosBaudRate(next);
  tty.termios = next;
  tty.ops.setTermios?.(tty, old);
  tty.ldisc.setTermios(old);
}

/** set_termios: job-control check, optional flush (TCSETSF) and drain (TCSETSW), then apply. */
function setTermios(tty: TtyStruct, task: Task, t: Termios, flush: boolean): number {
  const r = ttyCheckChange(task, tty, SIGTTOU);
  if (r) return r;
  if (flush) tty.ldisc.flushBuffer();
  // TERMIOS_WAIT: tty_wait_until_sent has nothing to wait for (drivers never queue output).
  ttySetTermios(tty, t);
  return 0;
}

function encodeTermio(t: Termios): Uint8Array {
  const b = new Uint8Array(TERMIO_SIZE);
  const v = new DataView(b.buffer);
  v.setUint16(0, t.iflag & 0xffff, true);
  v.setUint16(2, t.oflag & 0xffff, true);
  v.setUint16(4, t.cflag & 0xffff, true);
  v.setUint16(6, t.lflag & 0xffff, true);
  b[8] = t.line;
  b.set(t.cc.subarray(0, NCC), 9);
  return b;
}

/** user_termio_to_kernel_termios: only the low 16 bits of each flag word and the first 8 c_cc. */
function decodeTermio(cur: Termios, b: Uint8Array): Termios {
  const v = new DataView(b.buffer, b.byteOffset, TERMIO_SIZE);
  const t = copyTermios(cur);
  t.iflag = (t.iflag & 0xffff0000) | v.getUint16(0, true);
  t.oflag = (t.oflag & 0xffff0000) | v.getUint16(2, true);
  t.cflag = (t.cflag & 0xffff0000) | v.getUint16(4, true);
  t.lflag = (t.lflag & 0xffff0000) | v.getUint16(6, true);
  t.line = b[8]!;
  t.cc.set(b.subarray(9, 9 + NCC));
  t.ispeed = undefined;
  t.ospeed = undefined;
  return t;
}

/** tty_mode_ioctl; null for commands it does not know (-ENOIOCTLCMD). */
export function ttyModeIoctl(tty: TtyStruct, task: Task, cmd: number, arg: number): number | null {
  const real = tty.realTty;
  const mm = task.mm;
  switch (cmd) {
    case TCGETS:
      return copyToUser(mm, arg, encodeTermios(real.termios)) < 0 ? -EFAULT : 0;
    case TCGETS2:
      return copyToUser(mm, arg, encodeTermios2(real.termios)) < 0 ? -EFAULT : 0;
    case TCSETS:
    case TCSETSW:
    case TCSETSF: {
      const b = copyFromUser(mm, arg, TERMIOS_SIZE);
      if (typeof b === 'number') return -EFAULT;
      const t = decodeTermios(b);
      return setTermios(real, task, t, cmd === TCSETSF);
    }
    case TCSETS2:
    case TCSETSW2:
    case TCSETSF2: {
      const b = copyFromUser(mm, arg, TERMIOS2_SIZE);
      if (typeof b === 'number') return -EFAULT;
      return setTermios(real, task, decodeTermios2(b), cmd === TCSETSF2);
    }
    case TCGETA:
      return copyToUser(mm, arg, encodeTermio(real.termios)) < 0 ? -EFAULT : 0;
    case TCSETA:
    case TCSETAW:
    case TCSETAF: {
      const b = copyFromUser(mm, arg, TERMIO_SIZE);
      if (typeof b === 'number') return -EFAULT;
      return setTermios(real, task, decodeTermio(real.termios, b), cmd === TCSETAF);
    }
    case TIOCGLCKTRMIOS: {
      // No locked bits (termios_locked is all zero).
      const z = new Uint8Array(TERMIOS_SIZE);
      return copyToUser(mm, arg, z) < 0 ? -EFAULT : 0;
    }
    case TIOCSLCKTRMIOS: {
      if (task.cred.euid !== 0) return -EPERM;
      const b = copyFromUser(mm, arg, TERMIOS_SIZE);
      if (typeof b === 'number') return -EFAULT;
      if (b.some((x) => x !== 0)) return -EPERM; // locking termios bits is not supported here
      return 0;
    }
    case TIOCGSOFTCAR:
      return putUser32(mm, arg, real.termios.cflag & CLOCAL ? 1 : 0) < 0 ? -EFAULT : 0;
    case TIOCSSOFTCAR: {
      const v = getUser32(mm, arg);
      if (v === null) return -EFAULT;
      const t = copyTermios(real.termios);
      t.cflag = v ? t.cflag | CLOCAL : t.cflag & ~CLOCAL;
      ttySetTermios(real, t);
      return 0;
    }
  }
  return null;
}
