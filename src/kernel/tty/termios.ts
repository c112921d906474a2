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

// c_iflag
export const ICRNL = 0x100;
export const IXON = 0x400;
export const IUTF8 = 0x4000;
// c_oflag
export const OPOST = 0x1;
export const ONLCR = 0x4;
// c_cflag
export const B38400 = 0xf;
export const CS8 = 0x30;
export const CREAD = 0x80;
export const HUPCL = 0x400;
// c_lflag
export const ISIG = 0x1;
export const ICANON = 0x2;
export const ECHO = 0x8;
export const ECHOE = 0x10;
export const ECHOK = 0x20;
export const ECHOCTL = 0x200;
export const ECHOKE = 0x800;
export const IEXTEN = 0x8000;

export interface Termios {
  iflag: number;
  oflag: number;
  cflag: number;
  lflag: number;
  line: number;
  cc: Uint8Array;
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
