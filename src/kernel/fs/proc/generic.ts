import { ENOENT } from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import { TaskState } from '../../sched/task.js';
import { UTS_RELEASE, UTS_VERSION } from '../../sys/sys.js';
import type { File, FileOperations } from '../file.js';
import { nsToTicks } from './array.js';
import { procInfo } from './internal.js';
import { seqFops } from './seq.js';

/**
 * The global text files at the root of /proc (meminfo, uptime, loadavg, stat, version,
 * cpuinfo, buddyinfo, filesystems): pure formatters plus the wrappers that read the kernel.
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

/** /proc/meminfo (meminfo_proc_show): the lines busybox free/top read, in kB. */
export function formatMeminfo(m: MemValues): string {
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
    line('CommitLimit', Math.floor(m.totalPages / 2)) +
    line('Committed_AS', m.totalPages - m.freePages) +
    line('VmallocTotal', 0) +
    line('VmallocUsed', 0) +
    line('VmallocChunk', 0)
  );
}

/** /proc/uptime: seconds up and seconds idle, two decimals each. */
export function formatUptime(upNs: number, idleNs: number): string {
  const s = (ns: number): string => (Math.floor(ns / 1e7) / 100).toFixed(2);
  return `${s(upNs)} ${s(idleNs)}\n`;
}

/** /proc/loadavg: no load average is tracked, so 0.00; running/total tasks and the last pid. */
export function formatLoadavg(running: number, total: number, lastPid: number): string {
  return `0.00 0.00 0.00 ${running}/${total} ${lastPid}\n`;
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

/** /proc/cpuinfo for the one riscv64 hart (show_cpuinfo in arch/riscv/kernel/cpu.c). */
export function formatCpuinfo(): string {
  return 'processor\t: 0\nhart\t\t: 0\nisa\t\t: rv64imafdc\nmmu\t\t: sv39\nuarch\t\t: labvisor\n\n';
}

/** /proc/buddyinfo: free blocks of each order in the one zone. */
export function formatBuddyinfo(freeByOrder: number[]): string {
  return `Node 0, zone   Normal ${freeByOrder.map((n) => String(n).padStart(6)).join(' ')} \n`;
}

/** /proc/filesystems: the registered filesystem types (nodev for those without a device). */
export function formatFilesystems(types: { name: string; nodev: boolean }[]): string {
  return types.map((t) => `${t.nodev ? 'nodev' : ''}\t${t.name}\n`).join('');
}

// ---- gathering from the kernel ----

/** The kernel, reached through any task procfs can see. */
function kernelOf(file: File): Kernel | null {
  const src = procInfo(file.inode.sb).tasks;
  if (!src) return null;
  for (const pid of src.tgids()) {
    const t = src.find(pid);
    if (t) return t.kernel;
  }
  return null;
}

function live(k: Kernel): { running: number; total: number; blocked: number; cpuNs: number; ctxt: number } {
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

function meminfoOf(k: Kernel): string {
  const pa = k.pageAlloc;
  let anon = 0;
  let file = 0;
  let shmem = 0;
  let pte = 0;
  let cached = 0;
  const seen = new Set<unknown>();
  for (const t of k.tasks.values()) {
    if (t.state === TaskState.ZOMBIE || t.state === TaskState.DEAD || seen.has(t.mm)) continue;
    seen.add(t.mm);
    const s = t.mm.vmStats();
    anon += s.rssAnon;
    file += s.rssFile;
    shmem += s.rssShmem;
    pte += s.pgtables;
    // The page caches mapped anywhere, each counted once, by the frames they hold in RAM.
    for (const as of t.mm.mappings) {
      if (seen.has(as)) continue;
      seen.add(as);
      cached += as.nrFrames;
    }
  }
  const free = pa.nrFree();
  const total = Math.floor(k.mem.size / 4096);
  return formatMeminfo({
    totalPages: total,
    freePages: free,
    cachedPages: Math.max(0, Math.min(cached, total - free - anon - pte)),
    shmemPages: shmem,
    anonPages: anon,
    mappedPages: file,
    pageTablePages: pte,
  });
}

function lastPidOf(k: Kernel): number {
  return k.lastAllocatedPid; // pid_ns->last_pid
}

const generators: Record<string, (k: Kernel) => string> = {
  meminfo: meminfoOf,
  uptime: (k) => {
    const up = k.clock.monotonicNs();
    return formatUptime(up, Math.max(0, up - live(k).cpuNs));
  },
  loadavg: (k) => {
    const l = live(k);
    return formatLoadavg(l.running, l.total, lastPidOf(k));
  },
  stat: (k) => {
    const l = live(k);
    const up = k.clock.monotonicNs();
    return formatStat({
      userTicks: nsToTicks(l.cpuNs),
      idleTicks: nsToTicks(Math.max(0, up - l.cpuNs)),
      btime: Math.floor((k.clock.realtimeNs() - up) / 1e9),
      processes: lastPidOf(k),
      running: l.running,
      blocked: l.blocked,
      ctxt: l.ctxt,
    });
  },
  version: formatVersion,
  cpuinfo: formatCpuinfo,
  buddyinfo: (k) => formatBuddyinfo(k.pageAlloc.freeByOrder()),
  filesystems: () =>
    formatFilesystems(
      ['rootfs', 'ramfs', 'tmpfs', 'proc', 'devpts', 'pipefs', 'hostfs'].map((name) => ({ name, nodev: true })),
    ),
};

/** The names of the global files, in readdir order. */
export const PROC_ROOT_FILES = Object.keys(generators);

/** The file operations of one global file. */
export function procRootFileFops(name: string): FileOperations {
  const gen = generators[name]!;
  return seqFops((file) => {
    const k = kernelOf(file);
    return k ? gen(k) : -ENOENT;
  });
}
