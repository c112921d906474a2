/**
 * struct termios of the riscv64 ABI (asm-generic/termbits.h): four tcflag_t words, c_line,
 * c_cc[NCCS = 19]; 36 bytes, no speed fields (TCGETS/TCSETS use this one, not termios2).
 */
export const NCCS = 19;
export const TERMIOS_SIZE = 36;

export const VINTR = 0;
export const VQUIT = 1;
export const VERASE = 2;
export const VKILL = 3;
export const VEOF = 4;
export const VTIME = 5;
export const VMIN = 6;
export const VSWTC = 7;
export const VSTART = 8;
export const VSTOP = 9;
export const VSUSP = 10;
export const VEOL = 11;
export const VREPRINT = 12;
export const VDISCARD = 13;
export const VWERASE = 14;
export const VLNEXT = 15;
export const VEOL2 = 16;

// c_iflag (asm-generic/termbits.h)
export const IGNBRK = 0x1;
export const BRKINT = 0x2;
export const IGNPAR = 0x4;
export const PARMRK = 0x8;
export const INPCK = 0x10;
export const ISTRIP = 0x20;
export const INLCR = 0x40;
export const IGNCR = 0x80;
export const ICRNL = 0x100;
export const IUCLC = 0x200;
export const IXON = 0x400;
export const IXANY = 0x800;
export const IXOFF = 0x1000;
export const IMAXBEL = 0x2000;
export const IUTF8 = 0x4000;
// c_oflag
export const OPOST = 0x1;
export const OLCUC = 0x2;
export const ONLCR = 0x4;
export const OCRNL = 0x8;
export const ONOCR = 0x10;
export const ONLRET = 0x20;
export const OFILL = 0x40;
export const OFDEL = 0x80;
export const TABDLY = 0x1800;
export const XTABS = 0x1800;
// c_cflag
export const CBAUD = 0x100f;
export const B38400 = 0xf;
export const CSIZE = 0x30;
export const CS8 = 0x30;
export const CSTOPB = 0x40;
export const CREAD = 0x80;
export const PARENB = 0x100;
export const HUPCL = 0x400;
export const CLOCAL = 0x800;
export const CBAUDEX = 0x1000;
export const BOTHER = 0x1000;
// c_lflag
export const ISIG = 0x1;
export const ICANON = 0x2;
export const XCASE = 0x4;
export const ECHO = 0x8;
export const ECHOE = 0x10;
export const ECHOK = 0x20;
export const ECHONL = 0x40;
export const NOFLSH = 0x80;
export const TOSTOP = 0x100;
export const ECHOCTL = 0x200;
export const ECHOPRT = 0x400;
export const ECHOKE = 0x800;
export const FLUSHO = 0x1000;
export const PENDIN = 0x4000;
export const IEXTEN = 0x8000;
export const EXTPROC = 0x10000;

/** struct termios2 (TCGETS2/TCSETS2): termios plus c_ispeed and c_ospeed; 44 bytes. */
export const TERMIOS2_SIZE = 44;
/** Baud rates of the Bnnn codes (tty_baudrate.c baud_table), index = CBAUD code (CBAUDEX codes from 16). */
const BAUD_TABLE = [
  0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800,
  500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000,
];

/** tty_termios_baud_rate: the output speed a c_cflag encodes (BOTHER: the explicit c_ospeed). */
export function termiosBaudRate(t: Termios): number {
  let cbaud = t.cflag & CBAUD;
  if (cbaud === BOTHER) return t.ospeed ?? 38400;
  if (cbaud & CBAUDEX) {
    cbaud &= ~CBAUDEX;
    cbaud += 15;
  }
  return BAUD_TABLE[cbaud] ?? 0;
}

export interface Termios {
  iflag: number;
  oflag: number;
  cflag: number;
  lflag: number;
  line: number;
  cc: Uint8Array;
  /** c_ispeed / c_ospeed of struct ktermios (only termios2 shows them). */
  ispeed?: number;
  ospeed?: number;
}

/** Deep copy (ktermios is copied by value in Linux). */
export function copyTermios(t: Termios): Termios {
  return { ...t, cc: t.cc.slice() };
}

/**
 * tty_std_termios (drivers/tty/tty_io.c) with IUTF8, as a terminal emulator's pty shows:
 * cooked mode, echo, signals; ^C ^\ DEL ^U ^D, VMIN 1, ^Q ^S ^Z ^R ^O ^W ^V.
 */
export function stdTermios(): Termios {
  const cc = new Uint8Array(NCCS);
  cc.set([3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0]);
  return {
    iflag: ICRNL | IXON | IUTF8,
    oflag: OPOST | ONLCR,
    cflag: B38400 | CS8 | CREAD | HUPCL,
    lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
    line: 0,
    cc,
  };
}

/** Encode for TCGETS (kernel_termios_to_user_termios). */
export function encodeTermios(t: Termios): Uint8Array {
  const b = new Uint8Array(TERMIOS_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, t.iflag >>> 0, true);
  v.setUint32(4, t.oflag >>> 0, true);
  v.setUint32(8, t.cflag >>> 0, true);
  v.setUint32(12, t.lflag >>> 0, true);
  b[16] = t.line;
  b.set(t.cc.subarray(0, NCCS), 17);
  return b;
}

/** Decode for TCSETS* (user_termios_to_kernel_termios). */
export function decodeTermios(b: Uint8Array): Termios {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    iflag: v.getUint32(0, true),
    oflag: v.getUint32(4, true),
    cflag: v.getUint32(8, true),
    lflag: v.getUint32(12, true),
    line: b[16]!,
    cc: b.slice(17, 17 + NCCS),
  };
}

/** kernel_termios_to_user_termios (termios2 layout, with the speeds). */
export function encodeTermios2(t: Termios): Uint8Array {
  const b = new Uint8Array(TERMIOS2_SIZE);
  b.set(encodeTermios(t));
  const v = new DataView(b.buffer);
  const speed = termiosBaudRate(t);
  v.setUint32(36, (t.ispeed ?? speed) >>> 0, true);
  v.setUint32(40, (t.ospeed ?? speed) >>> 0, true);
  return b;
}

/** user_termios_to_kernel_termios (termios2 layout). */
export function decodeTermios2(b: Uint8Array): Termios {
  const t = decodeTermios(b.subarray(0, TERMIOS_SIZE));
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  t.ispeed = v.getUint32(36, true);
  t.ospeed = v.getUint32(40, true);
  return t;
}

export const B9600 = 0xd;

/**
 * tty_std_termios exactly (drivers/tty/tty_io.c): what a new n_tty starts with before a driver
 * adjusts c_cflag (no IUTF8, unlike stdTermios above which mirrors a terminal emulator's pty).
 */
export function ttyStdTermios(): Termios {
  const t = stdTermios();
  t.iflag = ICRNL | IXON;
  t.ispeed = 38400;
  t.ospeed = 38400;
  return t;
}
