/**
 * printk (kernel/printk/printk.c + printk_ringbuffer.c): the kernel's message log. Every
 * message becomes a record {seq, tsUsec, level, facility, text} in a ring of LOG_BUF_LEN
 * bytes (log_buf); readers — syslog(2) (busybox dmesg), /dev/kmsg, /proc/kmsg — walk it by
 * sequence number and notice when records they had not read yet were overwritten. Records
 * whose level is below console_loglevel also go to the console (`kernel.consoleWrite`, set
 * by the tty layer when a console exists), formatted as Linux's console lines
 * `[    0.123456] text\n` (the tty's ONLCR turns \n into \r\n).
 */
import type { Kernel } from '../kernel.js';
import { WaitQueue } from '../sched/wait.js';

/** Log levels (include/linux/kern_levels.h). */
export const LOGLEVEL_EMERG = 0;
export const LOGLEVEL_ALERT = 1;
export const LOGLEVEL_CRIT = 2;
export const LOGLEVEL_ERR = 3;
export const LOGLEVEL_WARNING = 4;
export const LOGLEVEL_NOTICE = 5;
export const LOGLEVEL_INFO = 6;
export const LOGLEVEL_DEBUG = 7;
/** KERN_* names used by callers: printk(kernel, KERN_INFO, "..."). */
export const KERN_EMERG = LOGLEVEL_EMERG;
export const KERN_ALERT = LOGLEVEL_ALERT;
export const KERN_CRIT = LOGLEVEL_CRIT;
export const KERN_ERR = LOGLEVEL_ERR;
export const KERN_WARNING = LOGLEVEL_WARNING;
export const KERN_NOTICE = LOGLEVEL_NOTICE;
export const KERN_INFO = LOGLEVEL_INFO;
export const KERN_DEBUG = LOGLEVEL_DEBUG;

/** CONFIG_LOG_BUF_SHIFT=17: 128 KiB (log_buf_len, what SYSLOG_ACTION_SIZE_BUFFER answers). */
export const LOG_BUF_LEN = 1 << 17;
/** PRINTK_MESSAGE_MAX / LOG_LINE_MAX: the longest text one record keeps (1024 - 32). */
export const LOG_LINE_MAX = 1024 - 32;
/** CONSOLE_LOGLEVEL_DEFAULT, _QUIET, MESSAGE_LOGLEVEL_DEFAULT, CONSOLE_LOGLEVEL_MIN (printk.h). */
export const CONSOLE_LOGLEVEL_DEFAULT = 7;
export const CONSOLE_LOGLEVEL_QUIET = 4;
export const CONSOLE_LOGLEVEL_DEBUG = 10;
export const MESSAGE_LOGLEVEL_DEFAULT = 4;
export const CONSOLE_LOGLEVEL_MIN = 1;

/** One log record (struct printk_info + its text). */
export interface PrintkRecord {
  seq: number;
  /** Microseconds since boot (local_clock() / 1000). */
  tsUsec: number;
  level: number;
  /** 0 for the kernel, 1 (LOG_USER) for what user space wrote to /dev/kmsg without a facility. */
  facility: number;
  /** The text, a byte string (one char per byte), without a trailing newline. */
  text: string;
  /** Bytes the record occupies in the data ring. */
  size: number;
}

/**
 * The log buffer of one kernel (prb + the syslog/console state around it). Sequence numbers
 * start at 0 and never repeat; the oldest records are dropped when their bytes are needed.
 */
export class PrintkLog {
  private recs: PrintkRecord[] = [];
  private head = 0;
  private bytes = 0;
  /** prb_next_seq: the sequence number the next record gets. */
  nextSeq = 0;
  /** clear_seq: where SYSLOG_ACTION_READ_ALL / SEEK_DATA start (moved by SYSLOG_ACTION_CLEAR). */
  clearSeq = 0;
  /** syslog_seq / syslog_partial: the position of the consuming reader (SYSLOG_ACTION_READ, /proc/kmsg). */
  syslogSeq = 0;
  syslogPartial = 0;
  /** log_wait: readers of syslog(2) READ, /dev/kmsg and /proc/kmsg sleep here. */
  readonly wait = new WaitQueue();
  /** console_printk[]: console_loglevel, default_message_loglevel, minimum_console_loglevel, default_console_loglevel. */
  consoleLoglevel = CONSOLE_LOGLEVEL_DEFAULT;
  defaultMessageLoglevel = MESSAGE_LOGLEVEL_DEFAULT;
  minimumConsoleLoglevel = CONSOLE_LOGLEVEL_MIN;
  defaultConsoleLoglevel = CONSOLE_LOGLEVEL_DEFAULT;
  /** saved_console_loglevel (SYSLOG_ACTION_CONSOLE_OFF/ON); -1 = LOGLEVEL_DEFAULT: none saved. */
  savedConsoleLoglevel = -1;
  /** The boot state whose console_loglevel (from quiet / loglevel=) was last taken over. */
  bootSeen: object | null = null;

  constructor(readonly capacity = LOG_BUF_LEN) {}

  /** prb_first_valid_seq: the oldest record still in the ring (nextSeq when empty). */
  get firstSeq(): number {
    return this.head < this.recs.length ? this.recs[this.head]!.seq : this.nextSeq;
  }

  /** prb_read_valid: the record with `seq`, or the next one still present if it was overwritten. */
  read(seq: number): PrintkRecord | null {
    const first = this.firstSeq;
    if (seq >= this.nextSeq) return null;
    const s = seq < first ? first : seq;
    return this.recs[this.head + (s - first)] ?? null;
  }

  /**
   * prb_reserve + prb_commit: store one record, dropping the oldest while it does not fit.
   * A record costs its text plus its 8-byte id, 8-byte aligned (the data ring's blocks).
   */
  store(level: number, facility: number, text: string, tsUsec: number): PrintkRecord {
    text = byteString(text);
    if (text.length > LOG_LINE_MAX) text = text.slice(0, LOG_LINE_MAX);
    const size = (8 + text.length + 7) & ~7;
    const rec: PrintkRecord = { seq: this.nextSeq++, tsUsec, level, facility, text, size };
    this.recs.push(rec);
    this.bytes += size;
    while (this.bytes > this.capacity && this.head < this.recs.length - 1) this.bytes -= this.recs[this.head++]!.size;
    if (this.head > 1024 && this.head * 2 > this.recs.length) {
      this.recs = this.recs.slice(this.head);
      this.head = 0;
    }
    return rec;
  }

  /** Records from `seq` on (from the first still present if `seq` was overwritten). */
  *from(seq: number): Generator<PrintkRecord> {
    const first = this.firstSeq;
    for (let i = this.head + Math.max(0, seq - first); i < this.recs.length; i++) yield this.recs[i]!;
  }
}

const logs = new WeakMap<Kernel, PrintkLog>();

/** The log buffer of a kernel (created on first use). */
export function printkLog(kernel: Kernel): PrintkLog {
  let l = logs.get(kernel);
  if (!l) {
    l = new PrintkLog();
    logs.set(kernel, l);
  }
  return l;
}

/** Fields other owners add to Kernel (the tty's console); read when present. */
interface KernelHooks {
  consoleWrite?: ((bytes: Uint8Array) => void) | null;
}

/** `[%5lu.%06lu] ` (print_time). */
export function formatTimestamp(tsUsec: number): string {
  const sec = Math.floor(tsUsec / 1e6);
  const us = Math.floor(tsUsec - sec * 1e6);
  return `[${String(sec).padStart(5)}.${String(us).padStart(6, '0')}] `;
}

/** record_print_text(syslog=true): `<PRI>[time] text\n`, PRI = facility << 3 | level. */
export function syslogLine(r: PrintkRecord): string {
  return `<${(r.facility << 3) | r.level}>${formatTimestamp(r.tsUsec)}${r.text}\n`;
}

/** record_print_text(syslog=false): what the console shows, `[time] text\n`. */
export function consoleLine(r: PrintkRecord): string {
  return `${formatTimestamp(r.tsUsec)}${r.text}\n`;
}

/**
 * The /dev/kmsg record (info_print_ext_header + msg_print_ext_body): `PRI,seq,usec,-;text\n`,
 * where control bytes (below 0x20), bytes from 0x7f up and the backslash are escaped as \xNN.
 */
export function kmsgLine(r: PrintkRecord): string {
  let body = '';
  for (let i = 0; i < r.text.length; i++) {
    const c = r.text.charCodeAt(i);
    body += c < 0x20 || c >= 0x7f || c === 0x5c ? `\\x${c.toString(16).padStart(2, '0')}` : r.text[i];
  }
  return `${(r.facility << 3) | r.level},${r.seq},${r.tsUsec},-;${body}\n`;
}

/** Text as a byte string: characters above 0xff become their UTF-8 bytes (what a C string holds). */
export function byteString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0xff) {
      let out = '';
      for (const b of new TextEncoder().encode(s)) out += String.fromCharCode(b);
      return out;
    }
  }
  return s;
}

/** A byte string (or text with characters above 0xff, UTF-8 encoded) as bytes. */
export function textBytes(s: string): Uint8Array {
  let wide = false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) wide = true;
  if (wide) return new TextEncoder().encode(s);
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/**
 * register_console with CON_PRINTBUFFER: a console that appears after boot began first prints
 * the records already in the buffer that its log level lets through, so it shows the boot
 * from "Linux version" on.
 */
export function consoleReplay(kernel: Kernel): void {
  const log = printkLog(kernel);
  if (kernel.boot && kernel.boot !== log.bootSeen) {
    log.bootSeen = kernel.boot;
    log.consoleLoglevel = kernel.boot.consoleLoglevel;
  }
  const write = (kernel as Kernel & KernelHooks).consoleWrite;
  if (!write) return;
  for (const r of log.from(log.firstSeq)) if (r.level < log.consoleLoglevel) write(textBytes(consoleLine(r)));
}

/** Set console_loglevel (what `dmesg -n` and /proc/sys/kernel/printk do). */
export function setConsoleLoglevel(kernel: Kernel, level: number): void {
  printkLog(kernel).consoleLoglevel = level;
}

/**
 * vprintk_emit: store the message (one record per line, as the lines of one call would be
 * split by a reader anyway), wake the log readers (wake_up_klogd), and print it on the
 * console when its level is below console_loglevel. With --debug/--strace, messages that
 * did not reach a console are echoed on the host's diagnostic channel.
 */
export function printk(kernel: Kernel, level: number, text: string, facility = 0): void {
  const log = printkLog(kernel);
  const hooks = kernel as Kernel & KernelHooks;
  // start_kernel parsed quiet / loglevel= into kernel.boot: take it over once per boot.
  if (kernel.boot && kernel.boot !== log.bootSeen) {
    log.bootSeen = kernel.boot;
    log.consoleLoglevel = kernel.boot.consoleLoglevel;
  }
  if (level < 0 || level > 7) level = log.defaultMessageLoglevel;
  const tsUsec = Math.floor(kernel.clock.monotonicNs() / 1000);
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  for (const line of lines) {
    const r = log.store(level, facility, line, tsUsec);
    const write = hooks.consoleWrite;
    let printed = false;
    if (write && level < log.consoleLoglevel) {
      try {
        write(textBytes(consoleLine(r)));
        printed = true;
      } catch {
        // A console that fails must not take printk (and the caller) down.
      }
    }
    if (!printed && (kernel.debug || kernel.strace)) kernel.console(consoleLine(r).slice(0, -1));
  }
  log.wait.wakeUp();
}
