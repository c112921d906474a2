import { EINVAL, ENOENT, EPERM } from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import type { Task } from '../../sched/task.js';
import { TaskState } from '../../sched/task.js';
import { UTS_RELEASE, UTS_VERSION } from '../../sys/sys.js';
import { chrdevNames } from '../char_dev.js';
import type { DirEntry, File, FileOperations, Kiocb } from '../file.js';
import { FS_REQUIRES_DEV, filesystemTypes } from '../filesystems.js';
import type { Inode, InodeOperations } from '../inode.js';
import type { IovIter } from '../iov_iter.js';
import type { SuperBlock } from '../super.js';
import { DT_DIR, DT_LNK, DT_REG, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from '../uapi.js';
import { nsToTicks } from './array.js';
import { ProcInode, procInfo } from './internal.js';
import { calcGlobalLoad, formatLoad } from './loadavg.js';
import { seqFops } from './seq.js';
import { procKmsgFops } from './kmsg.js';
import { printkLog } from '../../printk/printk.js';
import { DMESG_RESTRICT } from '../../printk/syslog.js';
import { procNetShow } from '../../net/proc.js';
import { NET_SYSCTLS } from '../../net/core/dev_sysctl.js';

/**
 * The global entries of /proc (fs/proc/generic.c: proc_dir_entry trees): meminfo, uptime,
 * loadavg, stat, version, cpuinfo, ... and the /proc/sys tree. Pure formatters take plain
 * values (tested without a machine); the tree at the end reads them from the kernel.
 */

const PAGE_KB = 4;

export interface MemValues {
  totalPages: number;
  freePages: number;
  /** Pages of file data cached in memory (page caches). */
  cachedPages: number;
  shmemPages: number;
  anonPages: number;
  mappedPages: number;
  pageTablePages: number;
}

/**
 * /proc/meminfo (meminfo_proc_show), in kB, with Linux 6.12's keys in its order (those of a
 * riscv64 kernel without swap, zswap, hugetlb pages or CMA). Values this kernel does not
 * have (slab, vmalloc, per-cpu) are 0.
 */
export function formatMeminfo(m: MemValues & { committedPages?: number }): string {
  const line = (name: string, pages: number): string =>
    `${(name + ':').padEnd(16)}${String(pages * PAGE_KB).padStart(8)} kB\n`;
  const available = Math.min(m.totalPages, m.freePages + m.cachedPages);
  return (
    line('MemTotal', m.totalPages) +
    line('MemFree', m.freePages) +
    line('MemAvailable', available) +
    line('Buffers', 0) +
    line('Cached', m.cachedPages) +
    line('SwapCached', 0) +
    line('Active', m.anonPages + m.cachedPages) +
    line('Inactive', 0) +
    line('Active(anon)', m.anonPages) +
    line('Inactive(anon)', 0) +
    line('Active(file)', m.cachedPages) +
    line('Inactive(file)', 0) +
    line('Unevictable', 0) +
    line('Mlocked', 0) +
    line('SwapTotal', 0) +
    line('SwapFree', 0) +
    line('Dirty', 0) +
    line('Writeback', 0) +
    line('AnonPages', m.anonPages) +
    line('Mapped', m.mappedPages) +
    line('Shmem', m.shmemPages) +
    line('KReclaimable', 0) +
    line('Slab', 0) +
    line('SReclaimable', 0) +
    line('SUnreclaim', 0) +
    line('KernelStack', 0) +
    line('PageTables', m.pageTablePages) +
    line('SecPageTables', 0) +
    line('NFS_Unstable', 0) +
    line('Bounce', 0) +
    line('WritebackTmp', 0) +
    line('CommitLimit', Math.floor(m.totalPages / 2)) +
    line('Committed_AS', m.committedPages ?? m.totalPages - m.freePages) +
    line('VmallocTotal', 0) +
    line('VmallocUsed', 0) +
    line('VmallocChunk', 0) +
    line('Percpu', 0)
  );
}

/** /proc/uptime: seconds up and seconds idle, two decimals each. */
export function formatUptime(upNs: number, idleNs: number): string {
  const s = (ns: number): string => (Math.floor(ns / 1e7) / 100).toFixed(2);
  return `${s(upNs)} ${s(idleNs)}\n`;
}

/**
 * /proc/loadavg (loadavg_proc_show): the three averages (fixed-point avenrun[], see
 * loadavg.ts), running/total scheduling entities, and the last pid allocated.
 */
export function formatLoadavg(running: number, total: number, lastPid: number, avenrun: number[] = [0, 0, 0]): string {
  return `${avenrun.map(formatLoad).join(' ')} ${running}/${total} ${lastPid}\n`;
}

/** /proc/stat (show_stat) for one CPU, times in clock ticks. */
export function formatStat(v: {
  userTicks: number;
  idleTicks: number;
  btime: number;
  processes: number;
  running: number;
  blocked: number;
  ctxt: number;
}): string {
  const cpu = (name: string): string => `${name} ${v.userTicks} 0 0 ${v.idleTicks} 0 0 0 0 0 0\n`;
  return (
    cpu('cpu ') +
    cpu('cpu0') +
    'intr 0\n' +
    `ctxt ${v.ctxt}\n` +
    `btime ${v.btime}\n` +
    `processes ${v.processes}\n` +
    `procs_running ${v.running}\n` +
    `procs_blocked ${v.blocked}\n` +
    'softirq 0 0 0 0 0 0 0 0 0 0 0\n'
  );
}

/** /proc/version. */
export function formatVersion(): string {
  return `Linux version ${UTS_RELEASE} (labvisor@labvisor) (TypeScript) ${UTS_VERSION}\n`;
}

/**
 * The ISA string of the hart as riscv_print_isa builds it: the single-letter extensions, then
 * the multi-letter ones it implements (cycle/time/instret counters, CSR instructions, fence.i).
 */
export const RISCV_ISA = 'rv64imafdc_zicntr_zicsr_zifencei';

/**
 * /proc/cpuinfo for the one riscv64 hart (show_cpuinfo in arch/riscv/kernel/cpu.c): no
 * "uarch" line, as for a hart whose device-tree node names no compatible core; the machine
 * ids read 0 (mvendorid 0 is "not implemented", as on QEMU's virt board).
 */
export function formatCpuinfo(): string {
  return (
    'processor\t: 0\n' +
    'hart\t\t: 0\n' +
    `isa\t\t: ${RISCV_ISA}\n` +
    'mmu\t\t: sv39\n' +
    'mvendorid\t: 0x0\n' +
    'marchid\t\t: 0x0\n' +
    'mimpid\t\t: 0x0\n' +
    `hart isa\t: ${RISCV_ISA}\n\n`
  );
}

/** /proc/buddyinfo: free blocks of each order in the one zone. */
export function formatBuddyinfo(freeByOrder: number[]): string {
  return `Node 0, zone   Normal ${freeByOrder.map((n) => String(n).padStart(6)).join(' ')} \n`;
}

/** /proc/filesystems: the registered filesystem types (nodev for those without a device). */
export function formatFilesystems(types: { name: string; nodev: boolean }[]): string {
  return types.map((t) => `${t.nodev ? 'nodev' : ''}\t${t.name}\n`).join('');
}

/** /proc/partitions (show_partition): one line per disk, sizes in 1 KiB blocks. */
export function formatPartitions(disks: { major: number; minor: number; sectors: number; name: string }[]): string {
  let out = 'major minor  #blocks  name\n\n';
  for (const d of disks)
    out += `${String(d.major).padStart(4)}  ${String(d.minor).padStart(7)} ${String(Math.floor(d.sectors / 2)).padStart(10)} ${d.name}\n`;
  return out;
}

/**
 * /proc/devices (chrdev_show, blkdev_show): each registered character region by major (the
 * memory devices under their driver's name "mem"), then the block majors.
 */
export function formatDevices(chr: { major: number; name: string }[], blk: { major: number; name: string }[]): string {
  const seen = new Set<string>();
  const rows = (list: { major: number; name: string }[]): string =>
    [...list]
      .map((r) => ({ major: r.major, name: r.major === 1 ? 'mem' : r.name }))
      .sort((a, b) => a.major - b.major)
      .filter((r) => {
        const k = `${r.major} ${r.name}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      })
      .map((r) => `${String(r.major).padStart(3)} ${r.name}\n`)
      .join('');
  return `Character devices:\n${rows(chr)}\nBlock devices:\n${rows(blk)}`;
}

// ---- gathering from the kernel ----

export function live(k: Kernel): { running: number; total: number; blocked: number; cpuNs: number; ctxt: number } {
  let running = 0;
  let total = 0;
  let cpuNs = 0;
  let ctxt = 0;
  for (const t of k.tasks.values()) {
    if (t.state === TaskState.DEAD) continue;
    cpuNs += t.cpuNs;
    ctxt += t.nvcsw + t.nivcsw;
    if (t.state === TaskState.ZOMBIE) continue;
    total++;
    if (t.state === TaskState.RUNNING) running++;
  }
  return { running, total, blocked: 0, cpuNs, ctxt };
}

export interface MemCounts extends MemValues {
  committedPages: number;
}

export function memCounts(k: Kernel): MemCounts {
  const pa = k.pageAlloc;
  let anon = 0;
  let file = 0;
  let shmem = 0;
  let pte = 0;
  let cached = 0;
  let committed = 0;
  const seen = new Set<unknown>();
  for (const t of k.tasks.values()) {
    if (t.state === TaskState.ZOMBIE || t.state === TaskState.DEAD || seen.has(t.mm)) continue;
    seen.add(t.mm);
    const s = t.mm.vmStats();
    anon += s.rssAnon;
    file += s.rssFile;
    shmem += s.rssShmem;
    pte += s.pgtables;
    committed += s.data + s.stack; // the private writable mappings vm_acct_memory charges
    // The page caches mapped anywhere, each counted once, by the frames they hold in RAM.
    for (const as of t.mm.mappings) {
      if (seen.has(as)) continue;
      seen.add(as);
      cached += as.nrFrames;
    }
  }
  const free = pa.nrFree();
  const total = Math.floor(k.mem.size / 4096);
  return {
    totalPages: total,
    freePages: free,
    cachedPages: Math.max(0, Math.min(cached, total - free - anon - pte)),
    shmemPages: shmem,
    anonPages: anon,
    mappedPages: file,
    pageTablePages: pte,
    committedPages: committed,
  };
}

/** /proc/vmstat (vmstat_show): the counters this kernel keeps, in pages. */
function vmstatOf(k: Kernel): string {
  const m = memCounts(k);
  const rows: [string, number][] = [
    ['nr_free_pages', m.freePages],
    ['nr_zone_inactive_anon', 0],
    ['nr_zone_active_anon', m.anonPages],
    ['nr_zone_inactive_file', 0],
    ['nr_zone_active_file', m.cachedPages],
    ['nr_zone_unevictable', 0],
    ['nr_zone_write_pending', 0],
    ['nr_mlock', 0],
    ['nr_inactive_anon', 0],
    ['nr_active_anon', m.anonPages],
    ['nr_inactive_file', 0],
    ['nr_active_file', m.cachedPages],
    ['nr_unevictable', 0],
    ['nr_anon_pages', m.anonPages],
    ['nr_mapped', m.mappedPages],
    ['nr_file_pages', m.cachedPages],
    ['nr_dirty', 0],
    ['nr_writeback', 0],
    ['nr_shmem', m.shmemPages],
    ['nr_page_table_pages', m.pageTablePages],
    ['nr_dirty_threshold', 0],
    ['nr_dirty_background_threshold', 0],
  ];
  return rows.map(([n, v]) => `${n} ${v}\n`).join('');
}

/** /proc/zoneinfo (zoneinfo_show): the one zone, Normal, of node 0. */
function zoneinfoOf(k: Kernel): string {
  const m = memCounts(k);
  return (
    'Node 0, zone   Normal\n' +
    `  pages free     ${m.freePages}\n` +
    `        spanned  ${m.totalPages}\n` +
    `        present  ${m.totalPages}\n` +
    `        managed  ${m.totalPages}\n` +
    `      nr_free_pages ${m.freePages}\n` +
    `      nr_zone_active_anon ${m.anonPages}\n` +
    `      nr_zone_active_file ${m.cachedPages}\n` +
    '  pagesets\n' +
    '    cpu: 0\n' +
    `  node_unreclaimable:  0\n` +
    `  start_pfn:           0\n`
  );
}

/**
 * /proc/slabinfo (slabinfo_show): this kernel has no slab allocator — its objects are
 * JavaScript objects — so the table lists the kernel objects it counts, with sizes 0.
 */
function slabinfoOf(k: Kernel): string {
  let tasks = 0;
  const mms = new Set<unknown>();
  const files = new Set<unknown>();
  for (const t of k.tasks.values()) {
    if (t.state === TaskState.DEAD) continue;
    tasks++;
    if (t.state === TaskState.ZOMBIE) continue;
    mms.add(t.mm);
    files.add(t.files);
  }
  const row = (name: string, n: number): string =>
    `${name.padEnd(17)} ${String(n).padStart(6)} ${String(n).padStart(6)}      0    0    0 : tunables    0    0    0 : slabdata      0      0      0\n`;
  return (
    'slabinfo - version: 2.1\n' +
    '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n' +
    row('mm_struct', mms.size) +
    row('files_cache', files.size) +
    row('task_struct', tasks)
  );
}

/** The open files of all tasks, each counted once (nr_files). */
function nrFiles(k: Kernel): number {
  const files = new Set<unknown>();
  for (const t of k.tasks.values()) {
    if (t.state === TaskState.ZOMBIE || t.state === TaskState.DEAD) continue;
    for (const fd of t.files.openFds()) files.add(t.files.get(fd));
  }
  return files.size;
}

/** What the kernel command line was (saved_command_line), '' for `labvisor exec`. */
function cmdlineOf(k: Kernel): string {
  return k.boot?.cmdline.raw ?? '';
}

/** uptime's second number: the idle task's time (all CPU time no task used). */
function uptimeOf(k: Kernel): string {
  const up = k.clock.monotonicNs();
  return formatUptime(up, Math.max(0, up - live(k).cpuNs));
}

function statOf(k: Kernel): string {
  const l = live(k);
  const up = k.clock.monotonicNs();
  return formatStat({
    userTicks: nsToTicks(l.cpuNs),
    idleTicks: nsToTicks(Math.max(0, up - l.cpuNs)),
    btime: Math.floor((k.clock.realtimeNs() - up) / 1e9),
    processes: k.lastAllocatedPid,
    running: l.running,
    blocked: l.blocked,
    ctxt: l.ctxt,
  });
}

function loadavgOf(k: Kernel): string {
  const l = live(k);
  return formatLoadavg(l.running, l.total, k.lastAllocatedPid, calcGlobalLoad(k).avenrun);
}

/** random/boot_id: one UUID per boot (a v4 UUID from the host's CSPRNG). */
const bootIds = new WeakMap<Kernel, string>();
function bootId(k: Kernel): string {
  let id = bootIds.get(k);
  if (!id) bootIds.set(k, (id = crypto.randomUUID()));
  return id;
}

// ---- the proc_dir_entry tree ----

/**
 * One global /proc entry (struct proc_dir_entry): a text file (`show`, and `write` for the
 * few writable sysctls), a symlink, or a directory of entries.
 */
export interface ProcEntry {
  name: string;
  mode: number;
  show?: (k: Kernel) => string | Uint8Array;
  /** A write of the whole file (proc_sys_write at offset 0): 0 or -errno. */
  write?: (k: Kernel, task: Task | null, text: string) => number;
  /** A symlink's body, as seen by `walker`. */
  link?: (walker: Task | null) => string | number;
  children?: ProcEntry[];
  ino: number;
}

const file = (name: string, show: (k: Kernel) => string | Uint8Array, mode = 0o444): ProcEntry => ({
  name,
  mode: S_IFREG | mode,
  show,
  ino: 0,
});
const line = (name: string, v: (k: Kernel) => string | number): ProcEntry => file(name, (k) => `${v(k)}\n`);
const dir = (name: string, children: ProcEntry[]): ProcEntry => ({ name, mode: S_IFDIR | 0o555, children, ino: 0 });
const symlink = (name: string, link: (walker: Task | null) => string | number): ProcEntry => ({
  name,
  mode: S_IFLNK | 0o777,
  link,
  ino: 0,
});
/** A writable sysctl (0644): root only, as proc_sys_permission with CAP_SYS_ADMIN-owned tables. */
const sysctl = (name: string, v: (k: Kernel) => string | number, write: ProcEntry['write']): ProcEntry => ({
  ...line(name, v),
  mode: S_IFREG | 0o644,
  write: (k, task, text) => (task && task.cred.euid !== 0 ? -EPERM : write!(k, task, text)),
});

/** proc_dostring for utsname fields: at most 64 bytes, the first line. */
function utsWrite(set: (k: Kernel, v: string) => void): ProcEntry['write'] {
  return (k, _t, text) => {
    const v = text.split('\n')[0]!;
    if (v.length > 64) return -EINVAL;
    set(k, v);
    return 0;
  };
}

/** /proc/sys/kernel/printk: console_loglevel (writable), default, minimum, default console level. */
function printkShow(k: Kernel): string {
  const l = printkLog(k);
  return `${l.consoleLoglevel}\t${l.defaultMessageLoglevel}\t${l.minimumConsoleLoglevel}\t${l.defaultConsoleLoglevel}\n`;
}
function printkWrite(k: Kernel, _t: Task | null, text: string): number {
  const v = text.trim().split(/\s+/).map(Number);
  if (v.some((n) => !Number.isInteger(n))) return -EINVAL;
  const l = printkLog(k);
  if (v[0] !== undefined) l.consoleLoglevel = v[0];
  if (v[1] !== undefined) l.defaultMessageLoglevel = v[1];
  if (v[2] !== undefined) l.minimumConsoleLoglevel = v[2];
  if (v[3] !== undefined) l.defaultConsoleLoglevel = v[3];
  return 0;
}

/**
 * /proc/sys/net (register_net_sysctl tables): a directory tree built from the stack's list
 * (net/core/dev_sysctl.ts), each file reading and writing the kernel namespace's sysctls.
 */
function netSysctlTree(): ProcEntry[] {
  interface Node {
    dirs: Map<string, Node>;
    files: ProcEntry[];
  }
  const root: Node = { dirs: new Map(), files: [] };
  for (const e of NET_SYSCTLS) {
    const parts = e.path.split('/');
    let n = root;
    for (const d of parts.slice(0, -1)) {
      let c = n.dirs.get(d);
      if (!c) n.dirs.set(d, (c = { dirs: new Map(), files: [] }));
      n = c;
    }
    const name = parts[parts.length - 1]!;
    const show = (k: Kernel): string => (k.net ? e.get(k.net) : '');
    n.files.push(
      e.set ? sysctl(name, show, (k, _t, text) => (k.net ? e.set!(k.net, text) : -ENOENT)) : line(name, show),
    );
  }
  const build = (n: Node): ProcEntry[] =>
    [...[...n.dirs].map(([name, c]) => dir(name, build(c))), ...n.files].sort((a, b) => (a.name < b.name ? -1 : 1));
  return build(root);
}

/** The files of /proc/net, each shown by the protocol that registered it (net/proc.ts). */
const PROC_NET_NAMES = [
  'arp',
  'dev',
  'netlink',
  'netstat',
  'packet',
  'raw',
  'route',
  'snmp',
  'softnet_stat',
  'tcp',
  'udp',
  'unix',
];

/** /proc/sys (kernel/sysctl.c tables): the entries programs read, with this kernel's values. */
const procSys = dir('sys', [
  dir('fs', [
    file('file-nr', (k) => `${nrFiles(k)}\t0\t${FILE_MAX}\n`),
    line('file-max', () => FILE_MAX),
    line('nr_open', () => 1048576),
    line('pipe-max-size', () => 1048576),
  ]),
  dir('kernel', [
    line('cap_last_cap', () => 40),
    line('dmesg_restrict', () => DMESG_RESTRICT),
    sysctl(
      'domainname',
      (k) => k.domainname,
      utsWrite((k, v) => (k.domainname = v)),
    ),
    sysctl(
      'hostname',
      (k) => k.nodename,
      utsWrite((k, v) => (k.nodename = v)),
    ),
    line('kptr_restrict', () => 0),
    line('ngroups_max', () => 65536),
    line('ns_last_pid', (k) => k.lastAllocatedPid),
    line('osrelease', () => UTS_RELEASE),
    line('ostype', () => 'Linux'),
    line('overflowgid', () => 65534),
    line('overflowuid', () => 65534),
    line('panic', () => 0),
    line('pid_max', (k) => k.pidMax),
    sysctl('printk', (k) => printkShow(k).slice(0, -1), printkWrite),
    line('printk_devkmsg', () => 'on'),
    dir('random', [
      line('boot_id', bootId),
      line('entropy_avail', () => 256),
      line('poolsize', () => 256),
      line('uuid', () => crypto.randomUUID()),
    ]),
    line('tainted', () => 0),
    line('threads-max', (k) => k.maxThreads),
    line('version', () => UTS_VERSION),
  ]),
  dir('net', netSysctlTree()),
  dir('vm', [
    line('max_map_count', () => 65530),
    line('overcommit_memory', () => 0),
    line('overcommit_ratio', () => 50),
    line('swappiness', () => 60),
  ]),
]);

/** NR_FILE-based default of file-max for a small machine (files_maxfiles_init's floor). */
const FILE_MAX = 8192;

/** The entries at the root of /proc besides the pid directories, in Linux's readdir order (by name). */
export const PROC_ROOT: ProcEntry[] = [
  file('buddyinfo', (k) => formatBuddyinfo(k.pageAlloc.freeByOrder())),
  file('cmdline', (k) => `${cmdlineOf(k)}\n`),
  file('cpuinfo', formatCpuinfo),
  file('devices', (k) =>
    formatDevices(
      chrdevNames(),
      k.disks.map((d) => ({ major: d.major, name: 'virtblk' })),
    ),
  ),
  file('diskstats', (k) =>
    k.disks
      .map((d) => {
        const s = d.stats;
        const f = [s.reads, s.readMerges, s.readSectors, s.readTicksMs, s.writes, s.writeMerges, s.writeSectors];
        const g = [s.writeTicksMs, s.inFlight, s.ioTicksMs, s.timeInQueueMs, 0, 0, 0, 0, s.flushes, s.flushTicksMs];
        // diskstats_show prints unsigned integers: the block layer's times may be fractional ms.
        const all = [...f, ...g].map((x) => Math.floor(x));
        return `${String(d.major).padStart(4)} ${String(d.minor).padStart(7)} ${d.name} ${all.join(' ')}\n`;
      })
      .join(''),
  ),
  file('filesystems', () =>
    formatFilesystems(filesystemTypes().map((t) => ({ name: t.name, nodev: (t.fsFlags & FS_REQUIRES_DEV) === 0 }))),
  ),
  file('interrupts', () => '           CPU0       \n'),
  file('kmsg', () => '', 0o400), // replaced by the kmsg operations in procEntryFops
  file('loadavg', loadavgOf),
  file('meminfo', (k) => formatMeminfo(memCounts(k))),
  symlink('mounts', () => 'self/mounts'),
  dir(
    'net',
    PROC_NET_NAMES.map((n) => file(n, (k) => procNetShow(n, k))),
  ),
  file('partitions', (k) => formatPartitions(k.disks)),
  symlink('self', (w) => (w ? String(w.tgid) : -ENOENT)),
  file('slabinfo', slabinfoOf, 0o400),
  file('stat', statOf),
  // swaps_proc_show: the header only — this kernel has no swap.
  file('swaps', () => 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n'),
  procSys,
  symlink('thread-self', (w) => (w ? `${w.tgid}/task/${w.pid}` : -ENOENT)),
  file('uptime', uptimeOf),
  file('version', () => formatVersion()),
  file('vmstat', vmstatOf),
  file('zoneinfo', zoneinfoOf, 0o444),
];

/** Inode numbers of the entries: PROC_ENTRY_INO_BASE up, in tree order (proc_alloc_inum). */
const PROC_ENTRY_INO_BASE = 16;
{
  let ino = PROC_ENTRY_INO_BASE;
  const number = (list: ProcEntry[]): void => {
    for (const e of list) {
      e.ino = ino++;
      if (e.children) number(e.children);
    }
  };
  number(PROC_ROOT);
}

/** The kernel, reached through any task procfs can see. */
export function procKernel(sb: SuperBlock): Kernel | null {
  const src = procInfo(sb).tasks;
  if (!src) return null;
  for (const pid of src.tgids()) {
    const t = src.find(pid);
    if (t) return t.kernel;
  }
  return null;
}

/** proc_reg_write → proc_sys_write: the whole value in one write at offset 0. */
function entryWrite(e: ProcEntry): (iocb: Kiocb, from: IovIter) => number {
  return (iocb, from) => {
    const k = procKernel(iocb.file.inode.sb);
    if (!k) return -ENOENT;
    const len = from.count;
    if (iocb.pos !== 0) return len; // Linux ignores writes past the start (SYSCTL_WRITES_STRICT)
    const b = from.copyFrom(Math.min(len, 4096));
    if (typeof b === 'number') return b;
    let text = '';
    for (const c of b) text += String.fromCharCode(c);
    const r = e.write!(k, k.current, text);
    if (r < 0) return r;
    iocb.pos += b.length;
    return b.length;
  };
}

/** Operations of a file entry: a seq_file over `show`, plus `write` for a writable sysctl. */
export function procEntryFops(e: ProcEntry): FileOperations {
  if (e.name === 'kmsg' && e.show && !e.children) return procKmsgFops;
  const fops: FileOperations = seqFops((f: File) => {
    const k = procKernel(f.inode.sb);
    return k ? e.show!(k) : -ENOENT;
  });
  if (e.write) fops.writeIter = entryWrite(e);
  return fops;
}

const dtOf = (e: ProcEntry): number =>
  (e.mode & S_IFMT) === S_IFDIR ? DT_DIR : (e.mode & S_IFMT) === S_IFLNK ? DT_LNK : DT_REG;

/** proc_readdir_de: the entries of a directory. */
export function procEntryDirents(list: ProcEntry[]): DirEntry[] {
  return list.map((e) => ({ name: e.name, ino: e.ino, type: dtOf(e) }));
}

const entryOfInode = new WeakMap<Inode, ProcEntry>();

const procEntryLinkOps: InodeOperations = {
  getLink(inode: Inode, walker: Task | null): string | number {
    const e = entryOfInode.get(inode);
    return e?.link ? e.link(walker) : -ENOENT;
  },
};

const procEntryDirOps: InodeOperations = {
  lookup(dir: Inode, name: string): Inode | null {
    const e = entryOfInode.get(dir)?.children?.find((c) => c.name === name);
    return e ? procEntryInode(dir.sb, e) : null;
  },
};

const procEntryDirFops: FileOperations = {
  iterate(f: File): DirEntry[] | number {
    const e = entryOfInode.get(f.inode);
    return e?.children ? procEntryDirents(e.children) : -ENOENT;
  },
};

/** proc_get_inode: the inode of an entry. */
export function procEntryInode(sb: SuperBlock, e: ProcEntry): Inode {
  const type = e.mode & S_IFMT;
  const inode =
    type === S_IFDIR
      ? new ProcInode(sb, e.ino, e.mode, procEntryDirOps, procEntryDirFops)
      : type === S_IFLNK
        ? new ProcInode(sb, e.ino, e.mode, procEntryLinkOps, {})
        : new ProcInode(sb, e.ino, e.mode, {}, procEntryFops(e));
  inode.nlink = type === S_IFDIR ? 2 + (e.children ?? []).filter((c) => c.children).length : 1;
  entryOfInode.set(inode, e);
  return inode;
}
