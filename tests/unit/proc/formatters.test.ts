import { describe, expect, it } from 'vitest';
import {
  formatLimits,
  formatMapsLine,
  formatMountsLine,
  formatStat,
  formatStatm,
  formatStatus,
  nsToTicks,
  type StatValues,
} from '../../../src/kernel/fs/proc/array.js';
import {
  formatBuddyinfo,
  formatCpuinfo,
  formatLoadavg,
  formatMeminfo,
  formatUptime,
} from '../../../src/kernel/fs/proc/generic.js';

const statValues: StatValues = {
  pid: 7,
  comm: 'a b)c',
  state: 'S',
  ppid: 1,
  pgrp: 7,
  session: 1,
  ttyNr: 0,
  tpgid: -1,
  utimeTicks: 12,
  stimeTicks: 0,
  cutimeTicks: 0,
  cstimeTicks: 0,
  priority: 20,
  nice: 0,
  numThreads: 1,
  starttimeTicks: 55,
  vsizeBytes: 1921024,
  rssPages: 90,
  rsslim: 18446744073709551615n,
  startCode: 0x10000,
  endCode: 0x190000,
  startStack: 0x3ffffff000,
  pending: 0n,
  blocked: 1n << 1n,
  ignored: 0n,
  caught: 1n << 16n,
  exitSignal: 17,
  rtPriority: 0,
  policy: 0,
  startData: 1,
  endData: 2,
  startBrk: 3,
  argStart: 4,
  argEnd: 5,
  envStart: 6,
  envEnd: 7,
  exitCode: 0,
};

describe('/proc formatters', () => {
  it('stat has 52 fields in proc(5) order', () => {
    const s = formatStat(statValues);
    expect(s.endsWith('\n')).toBe(true);
    // comm may hold spaces and ')': split after the last ')', as ps does.
    const close = s.lastIndexOf(')');
    expect(s.slice(0, close + 1)).toBe('7 (a b)c)');
    const rest = s
      .slice(close + 2)
      .trim()
      .split(' ');
    expect(rest.length + 2).toBe(52);
    expect(rest[0]).toBe('S'); // 3 state
    expect(rest[1]).toBe('1'); // 4 ppid
    expect(rest[11]).toBe('12'); // 14 utime
    expect(rest[19]).toBe('55'); // 22 starttime
    expect(rest[20]).toBe('1921024'); // 23 vsize
    expect(rest[21]).toBe('90'); // 24 rss
    expect(rest[22]).toBe('18446744073709551615'); // 25 rsslim
    expect(rest[28]).toBe('0'); // 31 signal
    expect(rest[29]).toBe('2'); // 32 blocked
    expect(rest[31]).toBe('65536'); // 34 sigcatch
    expect(rest[35]).toBe('17'); // 38 exit_signal
    expect(rest[49]).toBe('0'); // 52 exit_code
  });

  it('ticks are of 100 Hz', () => {
    expect(nsToTicks(1e9)).toBe(100);
    expect(nsToTicks(19_999_999)).toBe(1);
  });

  it('statm has seven numbers', () => {
    expect(formatStatm(469, 90, 78, 385, 76)).toBe('469 90 78 385 0 76 0\n');
  });

  it('status has the lines ps/top read, in kB and hex masks', () => {
    const s = formatStatus({
      name: 'sh',
      umask: 0o022,
      state: 'S',
      tgid: 3,
      pid: 3,
      ppid: 1,
      uids: [0, 0, 0, 0],
      gids: [0, 0, 0, 0],
      fdSize: 64,
      groups: [],
      vm: {
        peak: 10,
        size: 10,
        locked: 0,
        hwm: 3,
        rss: 3,
        rssAnon: 1,
        rssFile: 2,
        rssShmem: 0,
        data: 4,
        stack: 2,
        exe: 5,
        pte: 1,
      },
      threads: 1,
      sigQ: [0, 1024],
      sigPnd: 0n,
      shdPnd: 0n,
      sigBlk: 0n,
      sigIgn: 1n << 2n,
      sigCgt: 0n,
      nvcsw: 4,
      nivcsw: 5,
    });
    expect(s).toContain('Name:\tsh\n');
    expect(s).toContain('Umask:\t0022\n');
    expect(s).toContain('State:\tS (sleeping)\n');
    expect(s).toContain('PPid:\t1\n');
    expect(s).toContain('Uid:\t0\t0\t0\t0\n');
    expect(s).toContain('VmSize:\t      40 kB\n');
    expect(s).toContain('VmRSS:\t      12 kB\n');
    expect(s).toContain('SigIgn:\t0000000000000004\n');
    expect(s).toContain('voluntary_ctxt_switches:\t4\nnonvoluntary_ctxt_switches:\t5\n');
  });

  it('maps lines pad the path to column 74', () => {
    const l = formatMapsLine({
      start: 0x10000,
      end: 0x191000,
      perms: 'r-xp',
      offset: 0,
      major: 0,
      minor: 1,
      ino: 18,
      path: '/bin/busybox',
    });
    expect(l).toBe('00010000-00191000 r-xp 00000000 00:01 18' + ' '.repeat(33) + '/bin/busybox\n');
    expect(l.indexOf('/bin')).toBe(73);
    const anon = formatMapsLine({
      start: 0x1000,
      end: 0x2000,
      perms: 'rw-p',
      offset: 0,
      major: 0,
      minor: 0,
      ino: 0,
      path: '',
    });
    expect(anon).toBe('00001000-00002000 rw-p 00000000 00:00 0 \n');
  });

  it('limits shows unlimited and units', () => {
    const s = formatLimits([
      { cur: Infinity, max: Infinity },
      { cur: 1024, max: 4096 },
    ]);
    const lines = s.split('\n');
    expect(lines[0]).toMatch(/^Limit\s+Soft Limit\s+Hard Limit\s+Units/);
    expect(lines[1]).toMatch(/^Max cpu time\s+unlimited\s+unlimited\s+seconds/);
    expect(lines[2]).toMatch(/^Max file size\s+1024\s+4096\s+bytes/);
    expect(lines.length).toBe(18);
  });

  it('meminfo in kB with MemTotal, MemFree, MemAvailable first', () => {
    const s = formatMeminfo({
      totalPages: 65536,
      freePages: 60000,
      cachedPages: 100,
      shmemPages: 0,
      anonPages: 50,
      mappedPages: 100,
      pageTablePages: 5,
    });
    const lines = s.split('\n');
    expect(lines[0]).toBe('MemTotal:         262144 kB');
    expect(lines[1]).toBe('MemFree:          240000 kB');
    expect(lines[2]).toBe('MemAvailable:     240400 kB');
    expect(s).toContain('\nCached:              400 kB\n');
  });

  it('uptime, loadavg, cpuinfo, buddyinfo', () => {
    expect(formatUptime(12_345_678_900, 1_000_000_000)).toBe('12.34 1.00\n');
    expect(formatLoadavg(1, 3, 17)).toBe('0.00 0.00 0.00 1/3 17\n');
    expect(formatCpuinfo()).toContain('isa\t\t: rv64imafdc_zicntr_zicsr_zifencei\nmmu\t\t: sv39\n');
    expect(formatBuddyinfo([1, 0, 2])).toBe('Node 0, zone   Normal      1      0      2 \n');
  });
});

describe('/proc/mounts lines', () => {
  it('escape spaces as octal and show ro/rw', () => {
    expect(formatMountsLine('proc', '/proc', 'proc', false)).toBe('proc /proc proc rw 0 0\n');
    expect(formatMountsLine('none', '/a b', 'tmpfs', true)).toBe('none /a\\040b tmpfs ro 0 0\n');
  });
});
