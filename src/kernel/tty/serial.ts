/**
 * The machine's serial port as a tty (drivers/tty/serial/serial_core.c + 8250 as far as a
 * host byte stream needs): /dev/ttyS0 (4:64) over a host CharStream, also reachable as
 * /dev/console (5:1) once consoleInit made it the console. Output goes to stream.write at once
 * unless the host stream says it is full (a server's console whose viewers lag): then
 * write_room is 0 and writers sleep in n_tty_write until the stream drains (uart_write_wakeup);
 * input is pulled from stream.read()/whenReadable() into the flip
 * buffer and on to n_tty, pausing while the line discipline's buffers are full (throttling).
 * All line editing, echo and signals are n_tty's: the host terminal is in raw mode.
 */
import { consoleReplay } from '../printk/printk.js';
import { ENODEV, ENXIO } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { registerChrdev } from '../fs/char_dev.js';
import type { File, FileOperations } from '../fs/file.js';
import type { Inode } from '../fs/inode.js';
import { makeDev } from '../fs/super.js';
import type { Task } from '../sched/task.js';
import type { CharStream } from '../../machine/dev/char-stream.js';
import { B9600, CLOCAL, CREAD, CS8, HUPCL, ttyStdTermios, type Termios } from './termios.js';
import { TTY_MAJOR, TTYAUX_MAJOR, ttyOpenFile } from './tty_io.js';
import { TTY_DRIVER_TYPE_SERIAL, TtyStruct, type TtyOperations } from './tty_struct.js';

export const SERIAL_MINOR_BASE = 64;
export const CONSOLE_MINOR = 1;
/** UART_XMIT_SIZE: what write_room reports (our UART drains at once, so it is always free). */
const UART_XMIT_SIZE = 4096;

interface SerialPort {
  stream: CharStream;
  /** Resolves the input pump's wait when n_tty makes room (uart_unthrottle). */
  roomWaiter: (() => void) | null;
  /** A wake-up of the writers is armed for when the host stream drains. */
  drainArmed: boolean;
}

/** Console tty (ttyS0) per machine. */
const consoles = new WeakMap<Kernel, TtyStruct>();

function port(tty: TtyStruct): SerialPort {
  return tty.driverData as SerialPort;
}

const serialOps: TtyOperations = {
  /** uart_write + the transmitter: straight to the host. */
  write(tty, data) {
    if (data.length > 0) port(tty).stream.write(data);
    return data.length;
  },
  /**
   * uart_write_room: the FIFO's room, or 0 while the host stream is full. A writer that finds
   * 0 sleeps on write_wait; the transmit-empty interrupt is the stream's whenWritable, which
   * wakes it (uart_write_wakeup → tty_wakeup).
   */
  writeRoom(tty) {
    const p = port(tty);
    const room = p.stream.writeRoom?.() ?? UART_XMIT_SIZE;
    // Less room than a whole FIFO: a writer may find too little for what it must put out in
    // one piece (CR LF), so any progress of the host side wakes the writers to look again.
    if (room < UART_XMIT_SIZE && !p.drainArmed && p.stream.whenWritable) {
      p.drainArmed = true;
      void p.stream.whenWritable().then(() => {
        p.drainArmed = false;
        tty.ldisc.processEchoes();
        tty.wakeWrite();
      });
    }
    return Math.max(0, Math.min(room, UART_XMIT_SIZE));
  },
  charsInBuffer: () => 0,
  unthrottle(tty) {
    const p = port(tty);
    const w = p.roomWaiter;
    p.roomWaiter = null;
    w?.();
  },
};

/** The uart's default line (uart_register_driver: B9600 | CS8 | CREAD | HUPCL | CLOCAL). */
function serialTermios(): Termios {
  const t = ttyStdTermios();
  t.cflag = B9600 | CS8 | CREAD | HUPCL | CLOCAL;
  t.ispeed = 9600;
  t.ospeed = 9600;
  return t;
}

/** The receive path: host bytes → flip buffer → n_tty, waiting for room when it is full. */
async function inputPump(tty: TtyStruct): Promise<void> {
  const p = port(tty);
  for (;;) {
    const room = tty.flipRoom;
    if (room === 0) {
      await new Promise<void>((resolve) => (p.roomWaiter = resolve));
      continue;
    }
    const data = p.stream.read(room);
    if (data === null) {
      await p.stream.whenReadable();
      continue;
    }
    if (data.length === 0) return; // the host closed its side: the line is silent from now on
    tty.receive(data);
  }
}

/**
 * Make ttyS0 the console on a host stream: /dev/ttyS0 and /dev/console open it, printk writes
 * through kernel.consoleWrite (uart_console_write: "\n" becomes "\r\n"), input is pumped from the
 * stream. The worker feeds host input into the stream and calls `tty.resize()` on a host resize.
 */
export function consoleInit(kernel: Kernel, stream: CharStream): TtyStruct {
  const tty = new TtyStruct(
    kernel,
    serialOps,
    'ttyS0',
    0,
    makeDev(TTY_MAJOR, SERIAL_MINOR_BASE),
    TTY_DRIVER_TYPE_SERIAL,
    0,
    serialTermios(),
  );
  tty.driverData = { stream, roomWaiter: null, drainArmed: false } satisfies SerialPort;
  tty.winsize = { row: stream.rows, col: stream.cols, xpixel: 0, ypixel: 0 };
  consoles.set(kernel, tty);
  kernel.consoleWrite = (bytes: Uint8Array): void => {
    let n = 0;
    for (const b of bytes) if (b === 10) n++;
    if (n === 0) return stream.write(bytes);
    const out = new Uint8Array(bytes.length + n);
    let j = 0;
    for (const b of bytes) {
      if (b === 10) out[j++] = 13;
      out[j++] = b;
    }
    stream.write(out);
  };
  consoleReplay(kernel);
  void inputPump(tty);
  return tty;
}

/** The console tty of a machine, if consoleInit ran. */
export function consoleTty(kernel: Kernel): TtyStruct | null {
  return consoles.get(kernel) ?? null;
}

/** uart_open on ttyS0. */
function ttySOpen(_inode: Inode, file: File, task: Task | null): number {
  const tty = task ? consoleTty(task.kernel) : null;
  if (!tty) return -ENXIO;
  return ttyOpenFile(tty, file, task, {});
}

/** /dev/console (tty_lookup_driver → console_device): never becomes a controlling tty on open. */
function consoleOpen(_inode: Inode, file: File, task: Task | null): number {
  const tty = task ? consoleTty(task.kernel) : null;
  if (!tty) return -ENODEV;
  return ttyOpenFile(tty, file, task, { console: true });
}

export const ttySFops: FileOperations = { open: ttySOpen };
export const consoleFops: FileOperations = { open: consoleOpen };

/** serial8250_init + tty_init's console: ttyS0 (4:64, the only port) and /dev/console (5:1). */
export function serialRegister(): void {
  registerChrdev(TTY_MAJOR, SERIAL_MINOR_BASE, 1, 'ttyS', ttySFops);
  registerChrdev(TTYAUX_MAJOR, CONSOLE_MINOR, 1, '/dev/console', consoleFops);
}
