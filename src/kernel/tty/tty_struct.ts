/**
 * struct tty_struct and struct tty_operations (include/linux/tty.h, tty_driver.h): one terminal
 * device instance, shared by every open file on it, with its termios, window size, foreground
 * process group and session (tty->ctrl), its line discipline (always n_tty here), flow-control
 * state, and the flip buffer through which the driver hands received bytes to the ldisc
 * (drivers/tty/tty_buffer.c: tty_insert_flip_string + flush_to_ldisc, run synchronously here).
 */
import type { Kernel } from '../kernel.js';
import type { File } from '../fs/file.js';
import type { Task } from '../sched/task.js';
import { WaitQueue } from '../sched/wait.js';
import { NTty } from './n_tty.js';
import { copyTermios, type Termios } from './termios.js';
import { killPgrp } from './tty_jobctrl.js';
import { SIGWINCH } from '../signal/signum.js';

/** tty_driver->type (TTY_DRIVER_TYPE_*). */
export const TTY_DRIVER_TYPE_SYSTEM = 1;
export const TTY_DRIVER_TYPE_CONSOLE = 2;
export const TTY_DRIVER_TYPE_SERIAL = 3;
export const TTY_DRIVER_TYPE_PTY = 4;
/** tty_driver->subtype for ptys. */
export const PTY_TYPE_MASTER = 1;
export const PTY_TYPE_SLAVE = 2;

/** TTYB_DEFAULT_MEM_LIMIT: how many bytes the flip buffer holds before the sender must wait. */
export const TTYB_DEFAULT_MEM_LIMIT = 65536;

/** What a driver does (struct tty_operations); only write and writeRoom are required. */
export interface TtyOperations {
  /** Hand output bytes to the device; returns how many it took (0 when it has no room). */
  write(tty: TtyStruct, data: Uint8Array): number;
  /** Bytes write() would take now. */
  writeRoom(tty: TtyStruct): number;
  /** Output queued in the driver, not yet on the wire (TIOCOUTQ). */
  charsInBuffer?(tty: TtyStruct): number;
  /** Drop queued output (TCOFLUSH, isig without NOFLSH). */
  flushBuffer?(tty: TtyStruct): void;
  /** Per-open check of the driver (pty_open): 0 or -errno. */
  open?(tty: TtyStruct, file: File): number;
  /** Per-close (pty_close), called before tty.count drops. */
  close?(tty: TtyStruct, file: File): void;
  /** Driver ioctls (pty_unix98_ioctl); null = not a driver ioctl (ENOIOCTLCMD). */
  ioctl?(tty: TtyStruct, file: File, task: Task, cmd: number, arg: number): number | null;
  /** Adjust the hardware part of new termios (pty_set_termios). Default: tty_termios_copy_hw. */
  setTermios?(tty: TtyStruct, old: Termios): void;
  /** Output stopped / restarted (^S/^Q, TCOOFF/TCOON). */
  stop?(tty: TtyStruct): void;
  start?(tty: TtyStruct): void;
  /** The ldisc made room in its read buffer (tty_unthrottle): more input may come. */
  unthrottle?(tty: TtyStruct): void;
  /** The last file closed (release_tty / driver->remove). */
  remove?(tty: TtyStruct): void;
}

export interface Winsize {
  row: number;
  col: number;
  xpixel: number;
  ypixel: number;
}

export class TtyStruct {
  termios: Termios;
  winsize: Winsize = { row: 0, col: 0, xpixel: 0, ypixel: 0 };
  /** tty->ctrl.pgrp: foreground process group (0: none). */
  pgrp = 0;
  /** tty->ctrl.session: the session this is the controlling tty of (0: none). */
  session = 0;
  /** Open files (tty->count). */
  count = 0;
  readonly files = new Set<File>();
  /** The other half of a pty pair. */
  link: TtyStruct | null = null;
  readonly ldisc: NTty;
  readonly readWait = new WaitQueue();
  readonly writeWait = new WaitQueue();
  /* tty->flags bits. */
  ioError = false; // TTY_IO_ERROR
  otherClosed = false; // TTY_OTHER_CLOSED
  exclusive = false; // TTY_EXCLUSIVE
  ptyLocked = false; // TTY_PTY_LOCK
  hupped = false; // TTY_HUPPED
  /* tty->flow. */
  stopped = false;
  tcoStopped = false;
  /** Driver private data (tty->driver_data). */
  driverData: unknown = null;
  /** Flip buffer: bytes received by the driver, not yet taken by the ldisc. */
  private flip: Uint8Array[] = [];
  flipBytes = 0;
  private pollWaiters: (() => void)[] = [];
  private readonly pollCallbacks = new Set<() => void>();

  constructor(
    readonly kernel: Kernel | null,
    readonly ops: TtyOperations,
    readonly name: string,
    readonly index: number,
    readonly rdev: number,
    readonly driverType: number,
    readonly subtype: number,
    termios: Termios,
  ) {
    this.termios = copyTermios(termios);
    this.ldisc = new NTty(this);
  }

  get isPtyMaster(): boolean {
    return this.driverType === TTY_DRIVER_TYPE_PTY && this.subtype === PTY_TYPE_MASTER;
  }

  /** tty_pair_get_tty: the slave for a pty master, else the tty itself. */
  get realTty(): TtyStruct {
    return this.isPtyMaster && this.link ? this.link : this;
  }

  /** Wake readers and pollers (wake_up_interruptible_poll(&tty->read_wait, ...)). */
  wakeRead(): void {
    this.readWait.wakeUp();
    this.notifyPoll();
  }

  /** tty_wakeup: writers and pollers re-check. */
  wakeWrite(): void {
    this.writeWait.wakeUp();
    this.notifyPoll();
  }

  notifyPoll(): void {
    const w = this.pollWaiters;
    if (w.length > 0) {
      this.pollWaiters = [];
      for (const f of w) f();
    }
    for (const cb of [...this.pollCallbacks]) cb();
  }

  /** poll_wait on read_wait + write_wait: resolves at the next state change. */
  pollWait(): Promise<void> {
    return new Promise((resolve) => this.pollWaiters.push(resolve));
  }

  /** epoll's registration (pollAdd): call `cb` on every state change until removed. */
  pollAdd(cb: () => void): () => void {
    this.pollCallbacks.add(cb);
    return () => this.pollCallbacks.delete(cb);
  }

  /** tty_buffer_space_avail. */
  get flipRoom(): number {
    return Math.max(0, TTYB_DEFAULT_MEM_LIMIT - this.flipBytes);
  }

  /**
   * tty_insert_flip_string_and_push_buffer: queue received bytes (up to the flip buffer's room)
   * and run flush_to_ldisc. Returns how many were taken.
   */
  receive(data: Uint8Array): number {
    const n = Math.min(data.length, this.flipRoom);
    if (n > 0) {
      this.flip.push(data.slice(0, n));
      this.flipBytes += n;
    }
    this.flushToLdisc();
    return n;
  }

  /** flush_to_ldisc: feed the flip buffer to n_tty as far as its read buffer has room. */
  flushToLdisc(): void {
    while (this.flip.length > 0) {
      const head = this.flip[0]!;
      const took = this.ldisc.receiveBuf(head);
      if (took === head.length) this.flip.shift();
      else this.flip[0] = head.subarray(took);
      this.flipBytes -= took;
      if (took < head.length) break;
    }
  }

  /** tty_buffer_flush: drop what the ldisc has not taken yet. */
  flushFlip(): void {
    this.flip = [];
    this.flipBytes = 0;
  }

  /** kill_pgrp(tty->ctrl.pgrp, sig, 1) — overridable by unit tests without a kernel. */
  signalPgrp(sig: number): void {
    if (this.pgrp > 0 && this.kernel) killPgrp(this.kernel, this.pgrp, sig);
  }

  /**
   * tty_do_resize: a new window size; SIGWINCH to the foreground process group when it
   * changed. What TIOCSWINSZ does, and what the worker calls on a host terminal resize.
   */
  resize(rows: number, cols: number, xpixel = this.winsize.xpixel, ypixel = this.winsize.ypixel): void {
    const ws = this.winsize;
    if (ws.row === rows && ws.col === cols && ws.xpixel === xpixel && ws.ypixel === ypixel) return;
    this.signalPgrp(SIGWINCH);
    this.winsize = { row: rows & 0xffff, col: cols & 0xffff, xpixel: xpixel & 0xffff, ypixel: ypixel & 0xffff };
    if (this.link) this.link.winsize = { ...this.winsize };
  }

  /** stop_tty. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ops.stop?.(this);
  }

  /** start_tty: output resumes; writers wake. */
  start(): void {
    if (!this.stopped || this.tcoStopped) return;
    this.stopped = false;
    this.ops.start?.(this);
    this.wakeWrite();
  }
}
