// printk's log buffer, syslog(2) actions and /dev/kmsg records (kernel/printk/printk.c), checked
// against the formats Linux produces: `<6>[    0.000100] text` for syslog, `6,0,100,-;text` for kmsg.
import { describe, expect, it } from 'vitest';
import { Kernel } from '../../../src/kernel/kernel.js';
import type { Task } from '../../../src/kernel/sched/task.js';
import type { PhysicalMemory } from '../../../src/machine/memory.js';
import type { Hart } from '../../../src/machine/cpu/hart.js';
import type { Clock } from '../../../src/machine/dev/clock.js';
import {
  KERN_ERR,
  KERN_INFO,
  LOG_BUF_LEN,
  PrintkLog,
  formatTimestamp,
  kmsgLine,
  printk,
  printkLog,
} from '../../../src/kernel/printk/printk.js';
import {
  SYSLOG_ACTION_CLEAR,
  SYSLOG_ACTION_CONSOLE_LEVEL,
  SYSLOG_ACTION_CONSOLE_OFF,
  SYSLOG_ACTION_CONSOLE_ON,
  SYSLOG_ACTION_READ_ALL,
  SYSLOG_ACTION_SIZE_BUFFER,
  SYSLOG_ACTION_SIZE_UNREAD,
  SYSLOG_FROM_READER,
  doSyslog,
  syslogPrint,
  syslogPrintAll,
} from '../../../src/kernel/printk/syslog.js';
import { devkmsgFops } from '../../../src/kernel/drivers/kmsg.js';
import { File } from '../../../src/kernel/fs/file.js';
import type { Inode } from '../../../src/kernel/fs/inode.js';
import type { Path } from '../../../src/kernel/fs/path.js';
import { IovIter } from '../../../src/kernel/fs/iov_iter.js';
import { O_NONBLOCK, O_RDONLY, O_WRONLY } from '../../../src/kernel/fs/uapi.js';

function kernel(opts: { consoleWrite?: (b: Uint8Array) => void } = {}): { k: Kernel; now: { ns: number } } {
  const now = { ns: 0 };
  const k = new Kernel({
    mem: {} as PhysicalMemory,
    hart: {} as Hart,
    clock: { monotonicNs: () => now.ns } as unknown as Clock,
    console: () => {},
  });
  if (opts.consoleWrite) (k as unknown as { consoleWrite: (b: Uint8Array) => void }).consoleWrite = opts.consoleWrite;
  return { k, now };
}

function task(k: Kernel, euid = 0): Task {
  return { kernel: k, cred: { euid } } as unknown as Task;
}

describe('log buffer', () => {
  it('stamps records with seq and usec, one per line', () => {
    const { k, now } = kernel();
    now.ns = 123_456_789;
    printk(k, KERN_INFO, 'one\ntwo\n');
    k.log('three');
    const log = printkLog(k);
    expect([...log.from(0)].map((r) => [r.seq, r.tsUsec, r.level, r.text])).toEqual([
      [0, 123456, 6, 'one'],
      [1, 123456, 6, 'two'],
      [2, 123456, 6, 'three'],
    ]);
    expect(formatTimestamp(123456)).toBe('[    0.123456] ');
    expect(formatTimestamp(98765_000_001)).toBe('[98765.000001] ');
  });

  it('drops the oldest records when 128 KiB are used, and readers notice', () => {
    const log = new PrintkLog();
    const text = 'x'.repeat(100);
    for (let i = 0; i < 2000; i++) log.store(6, 0, `${i} ${text}`, i);
    expect(log.nextSeq).toBe(2000);
    expect(log.firstSeq).toBeGreaterThan(0);
    let bytes = 0;
    for (const r of log.from(0)) bytes += r.size;
    expect(bytes).toBeLessThanOrEqual(LOG_BUF_LEN);
    expect(bytes).toBeGreaterThan(LOG_BUF_LEN - 200);
    // A read at an overwritten sequence number lands on the oldest record still there.
    expect(log.read(0)!.seq).toBe(log.firstSeq);
    expect(log.read(1999)!.text.startsWith('1999 ')).toBe(true);
    expect(log.read(2000)).toBeNull();
  });

  it('prints on the console below console_loglevel as "[time] text\\n"', () => {
    const out: string[] = [];
    const { k, now } = kernel({ consoleWrite: (b) => out.push(Buffer.from(b).toString('latin1')) });
    now.ns = 1_500_000_000;
    printk(k, KERN_ERR, 'disk on fire');
    printk(k, 7, 'debug chatter'); // 7 is not < console_loglevel 7
    expect(out).toEqual(['[    1.500000] disk on fire\n']);
    printkLog(k).consoleLoglevel = 4;
    printk(k, KERN_INFO, 'quiet now');
    expect(out.length).toBe(1);
  });
});

describe('syslog(2)', () => {
  it('READ_ALL returns the newest lines that fit, CLEAR hides older ones', () => {
    const { k, now } = kernel();
    now.ns = 1000;
    printk(k, KERN_INFO, 'first');
    printk(k, KERN_ERR, 'second');
    const log = printkLog(k);
    expect(syslogPrintAll(log, 4096, false)).toBe('<6>[    0.000001] first\n<3>[    0.000001] second\n');
    expect(syslogPrintAll(log, 30, false)).toBe('<3>[    0.000001] second\n');
    expect(doSyslog(k, task(k), SYSLOG_ACTION_CLEAR, 0, 0, SYSLOG_FROM_READER)).toBe(0);
    expect(syslogPrintAll(log, 4096, false)).toBe('');
    printk(k, KERN_INFO, 'third');
    expect(syslogPrintAll(log, 4096, false)).toBe('<6>[    0.000001] third\n');
  });

  it('READ consumes, splitting a line that does not fit', () => {
    const { k } = kernel();
    printk(k, KERN_INFO, 'abcdef');
    printk(k, KERN_INFO, 'gh');
    const log = printkLog(k);
    expect(doSyslog(k, task(k), SYSLOG_ACTION_SIZE_UNREAD, 0, 0, SYSLOG_FROM_READER)).toBe(25 + 21);
    expect(syslogPrint(log, 10)).toBe('<6>[    0.');
    expect(syslogPrint(log, 100)).toBe('000000] abcdef\n<6>[    0.000000] gh\n');
    expect(syslogPrint(log, 100)).toBe('');
    expect(doSyslog(k, task(k), SYSLOG_ACTION_SIZE_UNREAD, 0, 0, SYSLOG_FROM_READER)).toBe(0);
  });

  it('permissions (dmesg_restrict=0), console level actions and bad arguments', () => {
    const { k } = kernel();
    const user = task(k, 1000);
    expect(doSyslog(k, user, SYSLOG_ACTION_SIZE_BUFFER, 0, 0, SYSLOG_FROM_READER)).toBe(131072);
    expect(doSyslog(k, user, SYSLOG_ACTION_READ_ALL, 0, 10, SYSLOG_FROM_READER)).toBe(-22); // EINVAL: NULL buf
    expect(doSyslog(k, user, SYSLOG_ACTION_CLEAR, 0, 0, SYSLOG_FROM_READER)).toBe(-1); // EPERM
    expect(doSyslog(k, user, SYSLOG_ACTION_CONSOLE_LEVEL, 0, 3, SYSLOG_FROM_READER)).toBe(-1);
    const root = task(k);
    const log = printkLog(k);
    expect(doSyslog(k, root, SYSLOG_ACTION_CONSOLE_LEVEL, 0, 9, SYSLOG_FROM_READER)).toBe(-22);
    expect(doSyslog(k, root, SYSLOG_ACTION_CONSOLE_LEVEL, 0, 3, SYSLOG_FROM_READER)).toBe(0);
    expect(log.consoleLoglevel).toBe(3);
    doSyslog(k, root, SYSLOG_ACTION_CONSOLE_OFF, 0, 0, SYSLOG_FROM_READER);
    expect(log.consoleLoglevel).toBe(1);
    doSyslog(k, root, SYSLOG_ACTION_CONSOLE_ON, 0, 0, SYSLOG_FROM_READER);
    expect(log.consoleLoglevel).toBe(3);
    expect(doSyslog(k, root, 11, 0, 0, SYSLOG_FROM_READER)).toBe(-22);
  });
});

describe('/dev/kmsg', () => {
  function open(k: Kernel, flags = O_RDONLY): File {
    const path = { mnt: { openFiles: 0, writers: 0 } } as unknown as Path;
    const f = new File(path, {} as Inode, devkmsgFops, flags, flags === O_WRONLY ? 2 : 1);
    expect(devkmsgFops.open!({} as Inode, f, task(k))).toBe(0);
    return f;
  }
  function read(f: File, size = 4096): string | number {
    const buf = new Uint8Array(size);
    const r = devkmsgFops.readIter!({ file: f, pos: 0, flags: f.flags }, IovIter.kernel(buf));
    if (typeof r !== 'number') return 'sleeps';
    return r < 0 ? r : Buffer.from(buf.subarray(0, r)).toString('latin1');
  }
  function write(f: File, s: string): number {
    const r = devkmsgFops.writeIter!({ file: f, pos: 0, flags: f.flags }, IovIter.kernel(Buffer.from(s, 'latin1')));
    return r as number;
  }

  it('one record per read, escaped, with its own position; writes inject records', () => {
    const { k, now } = kernel();
    now.ns = 2_000_000;
    printk(k, KERN_INFO, 'tab\there \\ ok');
    const w = open(k, O_WRONLY);
    expect(write(w, '<3>hello from user\n')).toBe(19);
    expect(write(w, 'no prefix')).toBe(9);
    expect(write(w, '<30>daemon notice')).toBe(17);
    const f = open(k, O_RDONLY | O_NONBLOCK);
    expect(read(f)).toBe('6,0,2000,-;tab\\x09here \\x5c ok\n');
    expect(read(f)).toBe('11,1,2000,-;hello from user\n'); // <3>: level 3, still LOG_USER (facility 0 is not taken)
    expect(read(f)).toBe('12,2,2000,-;no prefix\n'); // LOG_USER (1) << 3 | default level 4
    expect(read(f)).toBe('30,3,2000,-;daemon notice\n'); // facility 3 (daemon), level 6
    expect(read(f)).toBe(-11); // EAGAIN with O_NONBLOCK
    const g = open(k, O_RDONLY);
    expect(read(g)).toMatch(/^6,0,/);
    expect(read(g, 5)).toBe(-22); // too small for the record: EINVAL (and the record is skipped)
    expect(read(g)).toMatch(/^12,2,/);
  });

  it('EPIPE once when unread records were overwritten; SEEK_SET/DATA/END', () => {
    const { k } = kernel();
    const f = open(k, O_RDONLY | O_NONBLOCK);
    const log = printkLog(k);
    for (let i = 0; i < 3000; i++) printk(k, KERN_INFO, `line ${i} ${'y'.repeat(60)}`);
    expect(read(f)).toBe(-32); // EPIPE
    expect(read(f)).toMatch(new RegExp(`^6,${log.firstSeq},`));
    expect(devkmsgFops.llseek!(f, 0, 2)).toBe(0); // SEEK_END
    expect(read(f)).toBe(-11);
    expect(devkmsgFops.llseek!(f, 0, 0)).toBe(0); // SEEK_SET: the oldest
    expect(read(f)).toMatch(new RegExp(`^6,${log.firstSeq},`));
    log.clearSeq = 2990;
    expect(devkmsgFops.llseek!(f, 0, 3)).toBe(0); // SEEK_DATA: after the last clear
    expect(read(f)).toMatch(/^6,2990,/);
    expect(devkmsgFops.llseek!(f, 1, 0)).toBe(-29); // ESPIPE
    expect(devkmsgFops.llseek!(f, 0, 1)).toBe(-22); // SEEK_CUR: EINVAL
    expect(kmsgLine({ seq: 5, tsUsec: 7, level: 4, facility: 0, text: 'é', size: 16 })).toBe('4,5,7,-;\\xe9\n');
  });
});
