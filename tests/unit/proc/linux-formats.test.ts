// /proc formats checked against this host's Linux: key names and their order in status,
// meminfo and smaps_rollup, the fdinfo layout, and the load-average arithmetic of
// kernel/sched/loadavg.c. Plus the sysfs tree's shape (what mdev -s walks).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CAP_FULL_SET,
  formatSmapsRollup,
  formatStat,
  formatStatus,
  type StatValues,
  type StatusValues,
} from '../../../src/kernel/fs/proc/array.js';
import { formatFdinfo } from '../../../src/kernel/fs/proc/fd.js';
import { formatDevices, formatLoadavg, formatMeminfo, formatPartitions } from '../../../src/kernel/fs/proc/generic.js';
import { EXP_1, FIXED_1, LoadAvg, LOAD_FREQ_NS, calcLoad, formatLoad } from '../../../src/kernel/fs/proc/loadavg.js';
import { buildSysfs, type SysNode } from '../../../src/kernel/fs/sysfs/tree.js';
import type { Kernel } from '../../../src/kernel/kernel.js';

const keys = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l.includes(':'))
    .map((l) => l.split(':')[0]!);
/** Are `ours` in the same relative order as they appear in `linux` (and all present there)? */
function inLinuxOrder(ours: string[], linux: string[]): string[] {
  const problems: string[] = [];
  let last = -1;
  for (const k of ours) {
    const i = linux.indexOf(k);
    if (i < 0) problems.push(`${k}: not in Linux's file`);
    else if (i < last) problems.push(`${k}: out of order`);
    else last = i;
  }
  return problems;
}
const host = (p: string): string | null => {
  try {
    return readFileSync(p, 'latin1');
  } catch {
    return null;
  }
};

const statusValues: StatusValues = {
  name: 'sh',
  umask: 0o22,
  state: 'S',
  tgid: 5,
  pid: 5,
  ppid: 1,
  uids: [0, 0, 0, 0],
  gids: [0, 0, 0, 0],
  fdSize: 64,
  groups: [],
  vm: {
    peak: 1,
    size: 1,
    locked: 0,
    hwm: 1,
    rss: 1,
    rssAnon: 1,
    rssFile: 0,
    rssShmem: 0,
    data: 1,
    stack: 1,
    exe: 1,
    pte: 1,
  },
  threads: 1,
  sigQ: [0, 1024],
  sigPnd: 0n,
  shdPnd: 0n,
  sigBlk: 0n,
  sigIgn: 0n,
  sigCgt: 0n,
  nvcsw: 0,
  nivcsw: 0,
  capEff: CAP_FULL_SET,
};

describe('formats against the host Linux', () => {
  it('status keys are Linux keys in Linux order', () => {
    const ours = keys(formatStatus(statusValues));
    const linux = host('/proc/self/status');
    if (linux) expect(inLinuxOrder(ours, keys(linux))).toEqual([]);
    expect(ours.slice(0, 3)).toEqual(['Name', 'Umask', 'State']);
    expect(ours.at(-1)).toBe('nonvoluntary_ctxt_switches');
    expect(formatStatus(statusValues)).toContain('\nCapEff:\t000001ffffffffff\n');
  });

  it('meminfo keys are Linux keys in Linux order', () => {
    const m = {
      totalPages: 100,
      freePages: 50,
      cachedPages: 5,
      shmemPages: 0,
      anonPages: 5,
      mappedPages: 1,
      pageTablePages: 1,
    };
    const ours = keys(formatMeminfo(m));
    const linux = host('/proc/meminfo');
    if (linux) expect(inLinuxOrder(ours, keys(linux))).toEqual([]);
    for (const l of formatMeminfo(m).trimEnd().split('\n')) expect(l).toMatch(/^[A-Za-z_()0-9]+:\s+\d+ kB$/);
  });

  it('smaps_rollup has exactly the host keys and layout', () => {
    const ours = formatSmapsRollup(0x10000, 0x4000000000, { rssAnon: 28, rssFile: 400, rssShmem: 0, locked: 0 });
    const lines = ours.split('\n');
    expect(lines[0]).toBe('00010000-4000000000 ---p 00000000 00:00 0                                [rollup]');
    expect(lines[1]).toBe('Rss:                1712 kB');
    const linux = host('/proc/self/smaps_rollup');
    if (linux) {
      expect(keys(ours).slice(1)).toEqual(keys(linux).slice(1));
      expect(linux.split('\n')[0]!.indexOf('[rollup]')).toBe(lines[0]!.indexOf('[rollup]'));
    }
  });

  it('stat has 52 fields; fdinfo has pos/flags/mnt_id/ino like the host', () => {
    const v = { pid: 1, comm: 'x', state: 'S', rsslim: 0n, pending: 0n, blocked: 0n, ignored: 0n, caught: 0n };
    const s = formatStat(
      new Proxy(v, { get: (t, k) => (k in t ? t[k as keyof typeof t] : 0) }) as unknown as StatValues,
    );
    expect(s.trimEnd().split(' ').length).toBe(52);
    const linux = host('/proc/self/stat');
    if (linux)
      expect(
        linux
          .slice(linux.lastIndexOf(')') + 2)
          .trimEnd()
          .split(' ').length + 2,
      ).toBe(52);
    const ours = formatFdinfo(5, 0o2100002, 23, 42);
    expect(ours).toBe('pos:\t5\nflags:\t02100002\nmnt_id:\t23\nino:\t42\n');
    const hostFd = host('/proc/self/fdinfo/0');
    if (hostFd) expect(keys(hostFd).slice(0, 4)).toEqual(keys(ours));
  });

  it('partitions and devices', () => {
    expect(formatPartitions([{ major: 254, minor: 0, sectors: 2097152, name: 'vda' }])).toBe(
      'major minor  #blocks  name\n\n 254        0    1048576 vda\n',
    );
    const linux = host('/proc/partitions');
    if (linux) expect(linux.split('\n')[0]).toBe('major minor  #blocks  name');
    expect(
      formatDevices(
        [
          { major: 5, name: '/dev/tty' },
          { major: 1, name: 'null' },
          { major: 1, name: 'zero' },
          { major: 4, name: 'ttyS' },
        ],
        [{ major: 254, name: 'virtblk' }],
      ),
    ).toBe('Character devices:\n  1 mem\n  4 ttyS\n  5 /dev/tty\n\nBlock devices:\n254 virtblk\n');
  });
});

describe('load average (kernel/sched/loadavg.c)', () => {
  it('one runnable task for one period reads 0.08, for a minute about 0.63', () => {
    expect(calcLoad(0, EXP_1, FIXED_1)).toBe(164);
    expect(formatLoad(164)).toBe('0.08');
    const l = new LoadAvg();
    l.update(LOAD_FREQ_NS, 1);
    expect(formatLoadavg(1, 2, 9, l.avenrun)).toBe('0.08 0.02 0.01 1/2 9\n'); // what a freshly booted Linux shows after 5 s
    l.update(12 * LOAD_FREQ_NS, 1); // 11 more periods folded at once (calc_load_n)
    expect(formatLoad(l.avenrun[0]!)).toBe('0.63');
    expect(l.nextUpdateNs).toBe(13 * LOAD_FREQ_NS);
    l.update(12.5 * LOAD_FREQ_NS, 5); // not yet the end of a period: nothing changes
    expect(formatLoad(l.avenrun[0]!)).toBe('0.63');
    // Decay with nothing running: 1-minute average falls by exp(-5/60) per period.
    const before = l.avenrun[0]!;
    l.update(13 * LOAD_FREQ_NS, 0);
    expect(l.avenrun[0]).toBe(Math.floor((before * EXP_1) / FIXED_1));
  });
});

describe('sysfs tree', () => {
  const at = (root: SysNode, path: string): SysNode | undefined => {
    let n: SysNode | undefined = root;
    for (const p of path.split('/').filter(Boolean)) n = n?.kind === 'dir' ? n.children.get(p) : undefined;
    return n;
  };
  it('disks appear under devices with dev/size/stat, linked from block, class and dev/block', () => {
    const stats = {
      reads: 3,
      readMerges: 0,
      readSectors: 24,
      readTicksMs: 1,
      writes: 0,
      writeMerges: 0,
      writeSectors: 0,
      writeTicksMs: 0,
      inFlight: 0,
      ioTicksMs: 1,
      timeInQueueMs: 1,
      flushes: 0,
      flushTicksMs: 0,
    };
    const k = {
      disks: [{ name: 'vda', major: 254, minor: 0, sectors: 2048, readOnly: false, stats }],
    } as unknown as Kernel;
    const root = buildSysfs(k);
    const dev = at(root, '/devices/platform/soc/10001000.virtio_mmio/virtio0/block/vda');
    expect(dev?.kind).toBe('dir');
    const show = (p: string): string => {
      const n = at(root, p);
      return n?.kind === 'attr' ? n.show() : `missing ${p}`;
    };
    const base = '/devices/platform/soc/10001000.virtio_mmio/virtio0/block/vda';
    expect(show(`${base}/dev`)).toBe('254:0\n');
    expect(show(`${base}/size`)).toBe('2048\n');
    expect(show(`${base}/uevent`)).toBe('MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n');
    expect(show(`${base}/stat`).trim().split(/\s+/).length).toBe(17);
    expect(at(root, '/block/vda')).toEqual({
      kind: 'link',
      target: '../devices/platform/soc/10001000.virtio_mmio/virtio0/block/vda',
    });
    expect(at(root, '/dev/block/254:0')).toEqual({
      kind: 'link',
      target: '../../devices/platform/soc/10001000.virtio_mmio/virtio0/block/vda',
    });
    expect(at(root, '/class/block/vda')?.kind).toBe('link');
    expect(show('/devices/system/cpu/online')).toBe('0\n');
    expect(at(root, '/kernel/mm')?.kind).toBe('dir');
  });
});
