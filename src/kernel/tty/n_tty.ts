/**
 * The N_TTY line discipline (drivers/tty/n_tty.c): input processing (ICRNL/INLCR/IGNCR/ISTRIP/
 * IUCLC), canonical line editing (ERASE, KILL, WERASE, LNEXT, REPRINT, EOF, EOL, EOL2), echo with
 * ECHOE/ECHOK/ECHOKE/ECHOCTL/ECHONL/ECHOPRT through an echo buffer, ISIG (INTR/QUIT/SUSP),
 * IXON flow control, output post-processing (OPOST/ONLCR/OCRNL/ONOCR/ONLRET/OLCUC/XTABS) with
 * column tracking, and reads in canonical or VMIN/VTIME mode from a 4 KiB read buffer.
 *
 * The buffer indices are free-running counters masked on access, as Linux's read_head,
 * canon_head, commit_head, read_tail and line_start; read_flags marks line delimiters.
 */
import { EAGAIN, EIO, ERESTARTSYS, ETIMEDOUT } from '../errno.js';
import type { Task } from '../sched/task.js';
import { sleepOn, WaitQueue, type Sleeper } from '../sched/wait.js';
import { SIGINT, SIGQUIT, SIGTSTP } from '../signal/signum.js';
import type { TtyStruct } from './tty_struct.js';
import {
  ECHO,
  ECHOCTL,
  ECHOE,
  ECHOK,
  ECHOKE,
  ECHONL,
  ECHOPRT,
  EXTPROC,
  ICANON,
  ICRNL,
  IEXTEN,
  IGNCR,
  INLCR,
  ISIG,
  ISTRIP,
  IUCLC,
  IUTF8,
  IXANY,
  IXON,
  NOFLSH,
  OCRNL,
  OLCUC,
  ONLCR,
  ONLRET,
  ONOCR,
  OPOST,
  PARMRK,
  TABDLY,
  VEOF,
  VEOL,
  VEOL2,
  VERASE,
  VINTR,
  VKILL,
  VLNEXT,
  VMIN,
  VQUIT,
  VREPRINT,
  VSTART,
  VSTOP,
  VSUSP,
  VTIME,
  VWERASE,
  XTABS,
  type Termios,
} from './termios.js';

export const N_TTY_BUF_SIZE = 4096;
const MASK = N_TTY_BUF_SIZE - 1;
/** __DISABLED_CHAR: a c_cc slot holding 0 is off; an EOF is queued as this byte. */
const DISABLED_CHAR = 0;
/** ECHO_COMMIT_WATERMARK: echoes are written out once this many are pending (or at batch end). */
const ECHO_COMMIT_WATERMARK = 256;
/** WAKEUP_CHARS: poll reports POLLOUT only while less than this is queued in the driver. */
export const WAKEUP_CHARS = 256;

/* Echo buffer entries (the echo_buf op codes of n_tty.c, as numbers). */
const ECHO_CTL = 0x100; // | c: a control char echoed as ^X
const ECHO_ERASE_TAB = 0x200; // | num_chars (bit 7: after a tab)
const ECHO_SET_CANON_COL = 0x300;
const ECHO_MOVE_BACK_COL = 0x400;

function iscntrl(c: number): boolean {
  return c < 0x20 || c === 0x7f;
}
function isalnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
function tolower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}
function toupper(c: number): number {
  return c >= 0x61 && c <= 0x7a ? c - 32 : c;
}

/** How a reader or writer reached the ldisc: who sleeps, and what the open file says. */
export interface TtyIoContext {
  task: Task | null;
  nonblock: boolean;
  /** tty_hung_up_p(file). */
  hungUp(): boolean;
}

function nowNs(task: Task | null): number {
  return task ? task.kernel.clock.monotonicNs() : performance.now() * 1e6;
}

/** Sleep on a wait queue until woken, a deadline or (with a task) a signal: 0 / -ETIMEDOUT / -ERESTARTSYS. */
function sleep(task: Task | null, q: WaitQueue, deadlineNs?: number): Promise<number> {
  if (task) return sleepOn(task, q, deadlineNs === undefined ? {} : { deadlineNs });
  // A line discipline driven without a kernel (unit tests): only the queue and the clock wake it.
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const s: Sleeper = {
      wake(r: number) {
        q.remove(s);
        if (timer !== undefined) clearTimeout(timer);
        resolve(r);
      },
    };
    q.add(s);
    if (deadlineNs !== undefined) {
      timer = setTimeout(() => s.wake(-ETIMEDOUT), Math.max(0, Math.ceil((deadlineNs - nowNs(null)) / 1e6)));
    }
  });
}

export class NTty {
  private readonly buf = new Uint8Array(N_TTY_BUF_SIZE);
  private readonly readFlags = new Uint8Array(N_TTY_BUF_SIZE);
  readHead = 0;
  readTail = 0;
  canonHead = 0;
  commitHead = 0;
  private lineStart = 0;
  private push = false;
  icanon = true;
  /** No input processing at all (ldata->raw): every byte is queued as is. */
  private raw = false;
  private lnext = false;
  private erasing = false;
  column = 0;
  private canonColumn = 0;
  /** Special characters under the current termios (ldata->char_map). */
  private readonly charMap = new Uint8Array(256);
  private echoBuf: number[] = [];

  constructor(readonly tty: TtyStruct) {
    this.setTermios(null);
  }

  private get t(): Termios {
    return this.tty.termios;
  }

  /** read_cnt. */
  get readCnt(): number {
    return this.readHead - this.readTail;
  }

  /* ---------------- termios ---------------- */

  /** n_tty_set_termios: rebuild the char map; switching ICANON re-scans the buffer's lines. */
  setTermios(old: Termios | null): void {
    const t = this.t;
    if (!old || (old.lflag ^ t.lflag) & (ICANON | EXTPROC)) {
      this.readFlags.fill(0);
      this.lineStart = this.readTail;
      if (!(t.lflag & ICANON) || this.readCnt === 0) {
        this.canonHead = this.readTail;
        this.push = false;
      } else {
        this.readFlags[(this.readHead - 1) & MASK] = 1;
        this.canonHead = this.readHead;
        this.push = true;
      }
      this.commitHead = this.readHead;
      this.erasing = false;
      this.lnext = false;
    }
    this.icanon = (t.lflag & ICANON) !== 0;
    const i = t.iflag;
    const l = t.lflag;
    if (i & (ISTRIP | IUCLC | IGNCR | ICRNL | INLCR | IXON | PARMRK) || l & (ICANON | ISIG | ECHO)) {
      const m = this.charMap;
      m.fill(0);
      const cc = t.cc;
      if (i & (IGNCR | ICRNL)) m[13] = 1;
      if (i & INLCR) m[10] = 1;
      if (l & ICANON) {
        m[cc[VERASE]!] = 1;
        m[cc[VKILL]!] = 1;
        m[cc[VEOF]!] = 1;
        m[10] = 1;
        m[cc[VEOL]!] = 1;
        if (l & IEXTEN) {
          m[cc[VWERASE]!] = 1;
          m[cc[VLNEXT]!] = 1;
          m[cc[VEOL2]!] = 1;
          if (l & ECHO) m[cc[VREPRINT]!] = 1;
        }
      }
      if (i & IXON) {
        m[cc[VSTART]!] = 1;
        m[cc[VSTOP]!] = 1;
      }
      if (l & ISIG) {
        m[cc[VINTR]!] = 1;
        m[cc[VQUIT]!] = 1;
        m[cc[VSUSP]!] = 1;
      }
      m[DISABLED_CHAR] = 0;
      this.raw = false;
    } else {
      this.raw = true;
    }
    // Output stopped by ^S restarts when IXON is turned off.
    if (old && old.iflag & IXON && !(i & IXON) && !this.tty.tcoStopped) this.tty.start();
    this.tty.wakeRead();
    this.tty.wakeWrite();
  }

  /** reset_buffer_flags. */
  private resetBufferFlags(): void {
    this.readHead = this.canonHead = this.readTail = this.commitHead = 0;
    this.lineStart = 0;
    this.erasing = false;
    this.readFlags.fill(0);
    this.push = false;
  }

  /** n_tty_flush_buffer (TCIFLUSH, TCSETSF): input is discarded. */
  flushBuffer(): void {
    this.resetBufferFlags();
    this.tty.flushToLdisc();
    this.tty.ops.unthrottle?.(this.tty);
    this.tty.wakeWrite();
  }

  /* ---------------- output ---------------- */

  /** Room for output (tty_write_room). */
  private writeRoom(): number {
    return this.tty.stopped ? 0 : this.tty.ops.writeRoom(this.tty);
  }

  private put(bytes: Uint8Array | number[]): void {
    this.tty.ops.write(this.tty, bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
  }

  /**
   * do_output_char: one byte through OPOST processing. Returns the room used, or -1 when
   * `space` is too small.
   */
  private doOutputChar(c: number, space: number, out: number[]): number {
    if (space <= 0) return -1;
    const o = this.t.oflag;
    switch (c) {
      case 10:
        if (o & ONLRET) this.column = 0;
        if (o & ONLCR) {
          if (space < 2) return -1;
          this.canonColumn = this.column = 0;
          out.push(13, 10);
          return 2;
        }
        this.canonColumn = this.column;
        break;
      case 13:
        if (o & ONOCR && this.column === 0) return 0;
        if (o & OCRNL) {
          c = 10;
          if (o & ONLRET) this.canonColumn = this.column = 0;
          break;
        }
        this.canonColumn = this.column = 0;
        break;
      case 9: {
        const spaces = 8 - (this.column & 7);
        if ((o & TABDLY) === XTABS) {
          if (space < spaces) return -1;
          this.column += spaces;
          for (let k = 0; k < spaces; k++) out.push(32);
          return spaces;
        }
        this.column += spaces;
        break;
      }
      case 8:
        if (this.column > 0) this.column--;
        break;
      default:
        if (!iscntrl(c)) {
          if (o & OLCUC) c = toupper(c);
          if (!this.isContinuation(c)) this.column++;
        }
        break;
    }
    out.push(c);
    return 1;
  }

  private isContinuation(c: number): boolean {
    return (this.t.iflag & IUTF8) !== 0 && (c & 0xc0) === 0x80;
  }

  /**
   * process_output_block + process_output: write as much of `data` as the driver has room for.
   * Returns the number of input bytes consumed.
   */
  private processOutput(data: Uint8Array): number {
    let space = this.writeRoom();
    if (space <= 0) return 0;
    const out: number[] = [];
    let i = 0;
    for (; i < data.length; i++) {
      const used = this.doOutputChar(data[i]!, space, out);
      if (used < 0) break;
      space -= used;
    }
    if (out.length > 0) this.put(out);
    return i;
  }

  /* ---------------- echo ---------------- */

  /** echo_char_raw. */
  private echoRaw(c: number): void {
    this.echoBuf.push(c);
  }

  /** echo_char: control characters become ^X with ECHOCTL (tab excepted). */
  private echoChar(c: number): void {
    if (this.t.lflag & ECHOCTL && iscntrl(c) && c !== 9) this.echoBuf.push(ECHO_CTL | c);
    else this.echoBuf.push(c);
  }

  /** finish_erasing: close an ECHOPRT "\\...": "/". */
  private finishErasing(): void {
    if (this.erasing) {
      this.echoRaw(0x2f);
      this.erasing = false;
    }
  }

  /** commit_echoes: write them out once enough are pending. */
  private commitEchoes(): void {
    if (this.echoBuf.length >= ECHO_COMMIT_WATERMARK) this.processEchoes();
  }

  /** __process_echoes: as many pending echoes as the driver has room for. */
  processEchoes(): void {
    if (this.echoBuf.length === 0) return;
    let space = this.writeRoom();
    const out: number[] = [];
    const opost = (this.t.oflag & OPOST) !== 0;
    let k = 0;
    for (; k < this.echoBuf.length; k++) {
      const op = this.echoBuf[k]!;
      const kind = op & 0xf00;
      if (kind === ECHO_CTL) {
        if (space < 2) break;
        out.push(0x5e, (op & 0xff) ^ 0o100);
        this.column += 2;
        space -= 2;
      } else if (kind === ECHO_ERASE_TAB) {
        let numChars = op & 0xff;
        if (!(numChars & 0x80)) numChars += this.canonColumn;
        let numBs = 8 - (numChars & 7);
        if (numBs > space) break;
        space -= numBs;
        while (numBs--) {
          out.push(8);
          if (this.column > 0) this.column--;
        }
      } else if (kind === ECHO_SET_CANON_COL) {
        this.canonColumn = this.column;
      } else if (kind === ECHO_MOVE_BACK_COL) {
        if (this.column > 0) this.column--;
      } else if (opost) {
        const used = this.doOutputChar(op, space, out);
        if (used < 0) break;
        space -= used;
      } else {
        if (space <= 0) break;
        out.push(op);
        space--;
      }
    }
    this.echoBuf = k === this.echoBuf.length ? [] : this.echoBuf.slice(k);
    // The echo ring is N_TTY_BUF_SIZE long: while the driver has no room (a console whose host
    // side is full) the oldest pending echoes are overwritten, as __process_echoes' slide of
    // echo_tail does, so echoes never pile up.
    if (this.echoBuf.length > N_TTY_BUF_SIZE) this.echoBuf = this.echoBuf.slice(-N_TTY_BUF_SIZE);
    if (out.length > 0) this.put(out);
  }

  /** flush_echoes: at the end of each received batch. */
  private flushEchoes(): void {
    if (!(this.t.lflag & (ECHO | ECHONL))) return;
    this.processEchoes();
  }

  /* ---------------- input ---------------- */

  private putQueue(c: number): void {
    this.buf[this.readHead & MASK] = c;
    this.readHead++;
  }

  /**
   * n_tty_receive_buf_common: take as much of `data` as the read buffer has room for and
   * process it. Returns the number of bytes consumed (the rest stays in the flip buffer).
   */
  receiveBuf(data: Uint8Array): number {
    let done = 0;
    while (done < data.length) {
      let room = N_TTY_BUF_SIZE - (this.readHead - this.readTail);
      if (this.t.iflag & PARMRK) room = Math.ceil(room / 3);
      room--;
      let overflow = false;
      if (room <= 0) {
        // A canonical line longer than the buffer: keep processing, overwriting its last byte,
        // so that the newline (or an erase) still gets through.
        overflow = this.icanon && this.canonHead === this.readTail;
        if (overflow && room < 0) this.readHead--;
        room = overflow ? 1 : 0;
      }
      const n = Math.min(data.length - done, room);
      if (n === 0) break;
      this.receive(data.subarray(done, done + n));
      done += n;
    }
    return done;
  }

  /** __receive_buf. */
  private receive(cp: Uint8Array): void {
    const t = this.t;
    if (this.raw) {
      for (let k = 0; k < cp.length; k++) this.putQueue(cp[k]!);
    } else {
      for (let k = 0; k < cp.length; k++) {
        let c = cp[k]!;
        if (this.lnext) {
          // n_tty_receive_char_lnext.
          this.lnext = false;
          if (t.iflag & ISTRIP) c &= 0x7f;
          if (t.iflag & IUCLC && t.lflag & IEXTEN) c = tolower(c);
          this.receiveChar(c);
          continue;
        }
        if (t.iflag & ISTRIP) c &= 0x7f;
        if (t.iflag & IUCLC && t.lflag & IEXTEN) c = tolower(c);
        if (t.lflag & EXTPROC) {
          this.putQueue(c);
          continue;
        }
        if (this.charMap[c]) this.receiveCharSpecial(c);
        else this.receiveChar(c);
      }
      this.flushEchoes();
    }
    if (this.icanon && !(t.lflag & EXTPROC)) return;
    this.commitHead = this.readHead;
    if (this.readCnt > 0) this.tty.wakeRead();
  }

  /** n_tty_receive_char: an ordinary byte. */
  private receiveChar(c: number): void {
    const t = this.t;
    const tty = this.tty;
    if (tty.stopped && !tty.tcoStopped && t.iflag & IXON && t.iflag & IXANY) {
      tty.start();
      this.processEchoes();
    }
    if (t.lflag & ECHO) {
      this.finishErasing();
      if (this.canonHead === this.readHead) this.echoBuf.push(ECHO_SET_CANON_COL);
      this.echoChar(c);
      this.commitEchoes();
    }
    if (c === 0xff && t.iflag & PARMRK) this.putQueue(c);
    this.putQueue(c);
  }

  /** n_tty_receive_signal_char + isig. */
  private receiveSignalChar(sig: number, c: number): void {
    const t = this.t;
    const tty = this.tty;
    if (t.lflag & NOFLSH) {
      tty.signalPgrp(sig);
    } else {
      tty.signalPgrp(sig);
      this.echoBuf = [];
      tty.ops.flushBuffer?.(tty);
      this.resetBufferFlags();
      tty.ops.unthrottle?.(tty);
    }
    if (t.iflag & IXON) tty.start();
    if (t.lflag & ECHO) {
      this.echoChar(c);
      this.commitEchoes();
    } else this.processEchoes();
  }

  /** n_tty_receive_char_special. */
  private receiveCharSpecial(c: number): void {
    const t = this.t;
    const tty = this.tty;
    const cc = t.cc;
    const l = t.lflag;
    if (t.iflag & IXON && (c === cc[VSTART] || c === cc[VSTOP])) {
      // n_tty_receive_char_flow_ctrl.
      if (c === cc[VSTART]) {
        tty.start();
        this.processEchoes();
      } else tty.stop();
      return;
    }
    if (l & ISIG) {
      if (c === cc[VINTR]) return this.receiveSignalChar(SIGINT, c);
      if (c === cc[VQUIT]) return this.receiveSignalChar(SIGQUIT, c);
      if (c === cc[VSUSP]) return this.receiveSignalChar(SIGTSTP, c);
    }
    if (tty.stopped && !tty.tcoStopped && t.iflag & IXON && t.iflag & IXANY) {
      tty.start();
      this.processEchoes();
    }
    if (c === 13) {
      if (t.iflag & IGNCR) return;
      if (t.iflag & ICRNL) c = 10;
    } else if (c === 10 && t.iflag & INLCR) c = 13;

    if (this.icanon) {
      if (c === cc[VERASE] || c === cc[VKILL] || (c === cc[VWERASE] && l & IEXTEN)) {
        this.eraser(c);
        this.commitEchoes();
        return;
      }
      if (c === cc[VLNEXT] && l & IEXTEN) {
        this.lnext = true;
        if (l & ECHO) {
          this.finishErasing();
          if (l & ECHOCTL) {
            this.echoRaw(0x5e);
            this.echoRaw(8);
            this.commitEchoes();
          }
        }
        return;
      }
      if (c === cc[VREPRINT] && l & ECHO && l & IEXTEN) {
        this.finishErasing();
        this.echoChar(c);
        this.echoRaw(10);
        for (let tail = this.canonHead; tail !== this.readHead; tail++) this.echoChar(this.buf[tail & MASK]!);
        this.commitEchoes();
        return;
      }
      if (c === 10) {
        if (l & (ECHO | ECHONL)) {
          this.echoRaw(10);
          this.commitEchoes();
        }
        return this.handleNewline(c);
      }
      if (c === cc[VEOF]) return this.handleNewline(DISABLED_CHAR);
      if (c === cc[VEOL] || (c === cc[VEOL2] && l & IEXTEN)) {
        if (l & ECHO) {
          if (this.canonHead === this.readHead) this.echoBuf.push(ECHO_SET_CANON_COL);
          this.echoChar(c);
          this.commitEchoes();
        }
        if (c === 0xff && t.iflag & PARMRK) this.putQueue(c);
        return this.handleNewline(c);
      }
    }
    if (l & ECHO) {
      this.finishErasing();
      if (c === 10) this.echoRaw(10);
      else {
        if (this.canonHead === this.readHead) this.echoBuf.push(ECHO_SET_CANON_COL);
        this.echoChar(c);
      }
      this.commitEchoes();
    }
    if (c === 0xff && t.iflag & PARMRK) this.putQueue(c);
    this.putQueue(c);
  }

  /** handle_newline: a line is complete. */
  private handleNewline(c: number): void {
    this.readFlags[this.readHead & MASK] = 1;
    this.putQueue(c);
    this.canonHead = this.readHead;
    this.tty.wakeRead();
  }

  /** eraser: ERASE, WERASE (ALTWERASE-like) and KILL with their echoes. */
  private eraser(c: number): void {
    const t = this.t;
    const l = t.lflag;
    const cc = t.cc;
    if (this.readHead === this.canonHead) return;
    let kind: 'erase' | 'werase' | 'kill';
    if (c === cc[VERASE]) kind = 'erase';
    else if (c === cc[VWERASE]) kind = 'werase';
    else {
      if (!(l & ECHO)) {
        this.readHead = this.canonHead;
        return;
      }
      if (!(l & ECHOK) || !(l & ECHOKE) || !(l & ECHOE)) {
        this.readHead = this.canonHead;
        this.finishErasing();
        this.echoChar(cc[VKILL]!);
        if (l & ECHOK) this.echoRaw(10);
        return;
      }
      kind = 'kill';
    }
    let seenAlnums = 0;
    while ((this.readHead & MASK) !== (this.canonHead & MASK)) {
      let head = this.readHead;
      let ch: number;
      do {
        head--;
        ch = this.buf[head & MASK]!;
      } while (this.isContinuation(ch) && (head & MASK) !== (this.canonHead & MASK));
      if (this.isContinuation(ch)) break;
      if (kind === 'werase') {
        if (isalnum(ch) || ch === 0x5f) seenAlnums++;
        else if (seenAlnums) break;
      }
      let cnt = this.readHead - head;
      this.readHead = head;
      if (l & ECHO) {
        if (l & ECHOPRT) {
          if (!this.erasing) {
            this.echoRaw(0x5c);
            this.erasing = true;
          }
          this.echoChar(ch);
          while (--cnt > 0) {
            head++;
            this.echoRaw(this.buf[head & MASK]!);
            this.echoBuf.push(ECHO_MOVE_BACK_COL);
          }
        } else if (kind === 'erase' && !(l & ECHOE)) {
          this.echoChar(cc[VERASE]!);
        } else if (ch === 9) {
          let numChars = 0;
          let afterTab = false;
          for (let tail = this.readHead; (tail & MASK) !== (this.canonHead & MASK);) {
            tail--;
            const x = this.buf[tail & MASK]!;
            if (x === 9) {
              afterTab = true;
              break;
            } else if (iscntrl(x)) {
              if (l & ECHOCTL) numChars += 2;
            } else if (!this.isContinuation(x)) numChars++;
          }
          this.echoBuf.push(ECHO_ERASE_TAB | (numChars & 7) | (afterTab ? 0x80 : 0));
        } else {
          if (iscntrl(ch) && l & ECHOCTL) {
            this.echoRaw(8);
            this.echoRaw(32);
            this.echoRaw(8);
          }
          if (!iscntrl(ch) || l & ECHOCTL) {
            this.echoRaw(8);
            this.echoRaw(32);
            this.echoRaw(8);
          }
        }
      }
      if (kind === 'erase') break;
    }
    if (this.readHead === this.canonHead && l & ECHO) this.finishErasing();
  }

  /* ---------------- read ---------------- */

  /** input_available_p. */
  inputAvailable(poll: boolean): boolean {
    const t = this.t;
    if (this.icanon && !(t.lflag & EXTPROC)) return this.canonHead !== this.readTail;
    const amt = poll && !t.cc[VTIME] && t.cc[VMIN] ? t.cc[VMIN]! : 1;
    return this.commitHead - this.readTail >= amt;
  }

  /** TIOCINQ / FIONREAD (inq_canon in canonical mode: EOF markers do not count). */
  inq(): number {
    if (!(this.icanon && !(this.t.lflag & EXTPROC))) return this.readCnt;
    let nr = this.canonHead - this.readTail;
    for (let tail = this.readTail; tail !== this.canonHead; tail++) {
      if (this.readFlags[tail & MASK] && this.buf[tail & MASK] === DISABLED_CHAR) nr--;
    }
    return nr;
  }

  /** copy_from_read_buf: non-canonical bytes. */
  private copyFromReadBuf(out: Uint8Array, at: number): number {
    const n = Math.min(this.commitHead - this.readTail, out.length - at);
    for (let k = 0; k < n; k++) out[at + k] = this.buf[(this.readTail + k) & MASK]!;
    this.readTail += n;
    return n;
  }

  /**
   * canon_copy_from_read_buf: up to the end of one line (the delimiter included, an EOF
   * marker not). Returns the bytes copied.
   */
  private canonCopyFromReadBuf(out: Uint8Array, at: number): number {
    const nr = out.length - at;
    const n = Math.min(nr, this.canonHead - this.readTail);
    let eol = -1;
    for (let k = 0; k < n; k++) {
      if (this.readFlags[(this.readTail + k) & MASK]) {
        eol = k;
        break;
      }
    }
    const found = eol >= 0;
    const len = found ? eol : n;
    const consumed = len + (found ? 1 : 0);
    const copy = found && this.buf[(this.readTail + eol) & MASK] === DISABLED_CHAR ? len : consumed;
    for (let k = 0; k < copy; k++) out[at + k] = this.buf[(this.readTail + k) & MASK]!;
    if (found) this.readFlags[(this.readTail + eol) & MASK] = 0;
    this.readTail += consumed;
    if (found) {
      if (!this.push) this.lineStart = this.readTail;
      else this.push = false;
    }
    return copy;
  }

  /** canon_skip_eof: a read that ended exactly before an EOF marker eats it. */
  private canonSkipEof(): void {
    const tail = this.readTail;
    if (tail === this.canonHead) return;
    if (!this.readFlags[tail & MASK] || this.buf[tail & MASK] !== DISABLED_CHAR) return;
    this.readFlags[tail & MASK] = 0;
    this.readTail = tail + 1;
  }

  /** After consuming input: let the flip buffer and the driver refill (n_tty_check_unthrottle). */
  private afterConsume(): void {
    this.tty.flushToLdisc();
    this.tty.ops.unthrottle?.(this.tty);
    this.tty.wakeWrite();
  }

  /**
   * n_tty_read: canonical (one line per read) or non-canonical with the VMIN/VTIME rules:
   * MIN=0 TIME=0 polls; MIN=0 TIME>0 waits up to TIME for any byte; MIN>0 TIME=0 waits for
   * MIN bytes; MIN>0 TIME>0 waits for the first byte, then until MIN or an inter-byte gap of TIME.
   * Returns the bytes read (possibly none, at EOF / timeout) or -errno.
   */
  read(ctx: TtyIoContext, count: number): Uint8Array | number | Promise<Uint8Array | number> {
    const tty = this.tty;
    const out = new Uint8Array(Math.min(count, N_TTY_BUF_SIZE + 1));
    const st = { n: 0, retval: 0, minimum: 0, timeNs: 0, timeoutNs: Infinity };
    if (!this.icanon) {
      st.minimum = this.t.cc[VMIN]!;
      if (st.minimum) st.timeNs = this.t.cc[VTIME]! * 100e6;
      else {
        st.timeoutNs = this.t.cc[VTIME]! * 100e6;
        st.minimum = 1;
      }
    }
    const result = (): Uint8Array | number => (st.n > 0 ? out.subarray(0, st.n) : st.retval);
    // Most reads find their data at once and return without a Promise.
    if (this.readStep(ctx, out, st)) return result();
    return (async () => {
      for (;;) {
        const start = nowNs(ctx.task);
        const r = await sleep(ctx.task, tty.readWait, st.timeoutNs === Infinity ? undefined : start + st.timeoutNs);
        if (r === -ERESTARTSYS) {
          if (st.n === 0) st.retval = -ERESTARTSYS;
          return result();
        }
        if (r === -ETIMEDOUT) st.timeoutNs = 0;
        else if (st.timeoutNs !== Infinity) st.timeoutNs = Math.max(0, st.timeoutNs - (nowNs(ctx.task) - start));
        if (this.readStep(ctx, out, st)) return result();
      }
    })();
  }

  /**
   * The body of n_tty_read's loop, run until the read is complete (true) or must sleep (false).
   */
  private readStep(
    ctx: TtyIoContext,
    out: Uint8Array,
    st: { n: number; retval: number; minimum: number; timeNs: number; timeoutNs: number },
  ): boolean {
    const tty = this.tty;
    while (st.n < out.length) {
      if (!this.inputAvailable(false)) {
        tty.flushToLdisc();
        if (!this.inputAvailable(false)) {
          if (tty.otherClosed) {
            st.retval = -EIO;
            return true;
          }
          if (ctx.hungUp()) return true;
          if (st.timeoutNs <= 0) return true;
          if (ctx.nonblock) {
            st.retval = -EAGAIN;
            return true;
          }
          return false;
        }
      }
      if (this.icanon && !(this.t.lflag & EXTPROC)) {
        st.n += this.canonCopyFromReadBuf(out, st.n);
        if (st.n === out.length) this.canonSkipEof();
      } else {
        st.n += this.copyFromReadBuf(out, st.n);
      }
      this.afterConsume();
      if (st.n >= st.minimum) return true;
      if (st.timeNs) st.timeoutNs = st.timeNs;
    }
    return true;
  }

  /* ---------------- write ---------------- */

  /**
   * n_tty_write: pending echoes first, then the data through OPOST (or raw), sleeping while
   * the driver has no room. Returns bytes written or -errno (-EIO when the tty is hung up or
   * the pty's other side is gone).
   */
  write(ctx: TtyIoContext, data: Uint8Array): number | Promise<number> {
    const tty = this.tty;
    this.processEchoes();
    let done = 0;
    /** One pass: the final result, or null when the caller must sleep for room. */
    const step = (): number | null => {
      // The pty master gone: the slave cannot be written (n_tty_write's `!tty->link->count`).
      if (ctx.hungUp() || (tty.link && tty.link.count === 0 && !tty.isPtyMaster)) return done > 0 ? done : -EIO;
      const rest = data.subarray(done);
      if (this.t.oflag & OPOST) done += this.processOutput(rest);
      else {
        const room = this.writeRoom();
        if (room > 0) done += tty.ops.write(tty, rest.subarray(0, room));
      }
      if (done === data.length) return done;
      if (ctx.nonblock) return done > 0 ? done : -EAGAIN;
      return null;
    };
    const r = step();
    if (r !== null) return r;
    return (async () => {
      for (;;) {
        const s = await sleep(ctx.task, tty.writeWait);
        if (s === -ERESTARTSYS) return done > 0 ? done : -ERESTARTSYS;
        const r2 = step();
        if (r2 !== null) return r2;
      }
    })();
  }

  /** Can a write make progress now (for poll's POLLOUT)? */
  writable(): boolean {
    const cib = this.tty.ops.charsInBuffer?.(this.tty) ?? 0;
    return cib < WAKEUP_CHARS && this.writeRoom() > 0;
  }
}
