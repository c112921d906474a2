import { VM_EXEC, VM_GROWSDOWN, VM_READ, VM_SHARED, VM_WRITE } from '../../mm/mman.js';
import { copyFromUser } from '../../mm/uaccess.js';
import { TaskState, type Task } from '../../sched/task.js';
import { isKthread, taskFlags } from '../../kthread/kthread.js';
import { getCurrentTty } from '../../tty/tty_jobctrl.js';
import { RLIMIT_SIGPENDING } from '../../sys/resource.js';
import { dPath } from '../d_path.js';
import type { File } from '../file.js';
import type { Path } from '../path.js';
import { devMajor, devMinor } from '../super.js';

/**
 * The per-process text files of fs/proc/array.c and task_mmu.c: stat, statm, status,
 * cmdline, environ, comm, maps. The formatters take plain values so they can be tested
 * without a machine; the `task*` wrappers gather those values from a Task.
 */

export const USER_HZ = 100;
const PAGE_SIZE = 4096;

/** Nanoseconds to clock ticks (nsec_to_clock_t). */
export function nsToTicks(ns: number): number {
  return Math.floor(ns / (1e9 / USER_HZ));
}

/** The state letter of /proc/<pid>/stat and the word of status (task_state_array). */
export function stateLetter(state: number): string {
  switch (state) {
    case TaskState.RUNNING:
      return 'R';
    case TaskState.INTERRUPTIBLE:
      return 'S';
    case TaskState.ZOMBIE:
      return 'Z';
    case TaskState.DEAD:
      return 'X';
    default:
      return 'S';
  }
}

const STATE_WORDS: Record<string, string> = {
  R: 'R (running)',
  S: 'S (sleeping)',
  Z: 'Z (zombie)',
  X: 'X (dead)',
  T: 'T (stopped)',
};

/** The values of one line of /proc/<pid>/stat (do_task_stat). */
export interface StatValues {
  pid: number;
  /** task->flags (PF_KTHREAD ... for kernel threads). */
  flags?: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  ttyNr: number;
  tpgid: number;
  utimeTicks: number;
  stimeTicks: number;
  cutimeTicks: number;
  cstimeTicks: number;
  priority: number;
  nice: number;
  numThreads: number;
  starttimeTicks: number;
  vsizeBytes: number;
  rssPages: number;
  rsslim: bigint;
  startCode: number;
  endCode: number;
  startStack: number;
  pending: bigint;
  blocked: bigint;
  ignored: bigint;
  caught: bigint;
  exitSignal: number;
  rtPriority: number;
  policy: number;
  startData: number;
  endData: number;
  startBrk: number;
  argStart: number;
  argEnd: number;
  envStart: number;
  envEnd: number;
  exitCode: number;
}

/** The 52 fields of /proc/<pid>/stat, in proc(5)'s order, newline-terminated. */
export function formatStat(v: StatValues): string {
  const sig = (m: bigint): string => String(m & 0xffffffffn); // the obsolete decimal masks
  const f: (string | number)[] = [
    v.pid,
    `(${v.comm})`,
    v.state,
    v.ppid,
    v.pgrp,
    v.session,
    v.ttyNr,
    v.tpgid,
    v.flags ?? 0,
    0, // minflt
    0, // cminflt
    0, // majflt
    0, // cmajflt
    v.utimeTicks,
    v.stimeTicks,
    v.cutimeTicks,
    v.cstimeTicks,
    v.priority,
    v.nice,
    v.numThreads,
    0, // itrealvalue
    v.starttimeTicks,
    v.vsizeBytes,
    v.rssPages,
    v.rsslim.toString(),
    v.startCode,
    v.endCode,
    v.startStack,
    0, // kstkesp
    0, // kstkeip
    sig(v.pending),
    sig(v.blocked),
    sig(v.ignored),
    sig(v.caught),
    0, // wchan
    0, // nswap
    0, // cnswap
    v.exitSignal,
    0, // processor
    v.rtPriority,
    v.policy,
    0, // delayacct_blkio_ticks
    0, // guest_time
    0, // cguest_time
    v.startData,
    v.endData,
    v.startBrk,
    v.argStart,
    v.argEnd,
    v.envStart,
    v.envEnd,
    v.exitCode,
  ];
  return f.join(' ') + '\n';
}

/** /proc/<pid>/statm: size resident shared text lib data dt, in pages. */
export function formatStatm(size: number, resident: number, shared: number, text: number, data: number): string {
  return `${size} ${resident} ${shared} ${text} 0 ${data} 0\n`;
}

const hex16 = (m: bigint): string => m.toString(16).padStart(16, '0');
const kb = (pages: number): string => `${String(pages * (PAGE_SIZE / 1024)).padStart(8)} kB`;

export interface StatusValues {
  name: string;
  umask: number;
  state: string;
  tgid: number;
  pid: number;
  ppid: number;
  uids: [number, number, number, number];
  gids: [number, number, number, number];
  fdSize: number;
  groups: number[];
  vm: {
    peak: number;
    size: number;
    locked: number;
    hwm: number;
    rss: number;
    rssAnon: number;
    rssFile: number;
    rssShmem: number;
    data: number;
    stack: number;
    exe: number;
    pte: number;
  } | null;
  threads: number;
  sigQ: [number, number];
  sigPnd: bigint;
  shdPnd: bigint;
  sigBlk: bigint;
  sigIgn: bigint;
  sigCgt: bigint;
  nvcsw: number;
  nivcsw: number;
  /** Namespace ids (one pid namespace here): process group and session. */
  pgid?: number;
  sid?: number;
  kthread?: boolean;
  /** Effective/permitted capability set (all 41 for root, none otherwise) and the bounding set. */
  capEff?: bigint;
  capBnd?: bigint;
  noNewPrivs?: number;
}

/** CAP_FULL_SET for CAP_LAST_CAP 40. */
export const CAP_FULL_SET = (1n << 41n) - 1n;

/** /proc/<pid>/status (proc_pid_status): Linux 6.12's keys in its order, for riscv64 (one CPU, one node). */
export function formatStatus(v: StatusValues): string {
  const l: string[] = [
    `Name:\t${v.name}`,
    `Umask:\t${v.umask.toString(8).padStart(4, '0')}`,
    `State:\t${STATE_WORDS[v.state] ?? v.state}`,
    `Tgid:\t${v.tgid}`,
    `Ngid:\t0`,
    `Pid:\t${v.pid}`,
    `PPid:\t${v.ppid}`,
    `TracerPid:\t0`,
    `Uid:\t${v.uids.join('\t')}`,
    `Gid:\t${v.gids.join('\t')}`,
    `FDSize:\t${v.fdSize}`,
    `Groups:\t${v.groups.map((g) => `${g} `).join('')}`,
    `NStgid:\t${v.tgid}`,
    `NSpid:\t${v.pid}`,
    `NSpgid:\t${v.pgid ?? v.tgid}`,
    `NSsid:\t${v.sid ?? v.tgid}`,
    `Kthread:\t${v.kthread ? 1 : 0}`,
  ];
  if (v.vm) {
    const m = v.vm;
    l.push(
      `VmPeak:\t${kb(m.peak)}`,
      `VmSize:\t${kb(m.size)}`,
      `VmLck:\t${kb(m.locked)}`,
      `VmPin:\t${kb(0)}`,
      `VmHWM:\t${kb(m.hwm)}`,
      `VmRSS:\t${kb(m.rss)}`,
      `RssAnon:\t${kb(m.rssAnon)}`,
      `RssFile:\t${kb(m.rssFile)}`,
      `RssShmem:\t${kb(m.rssShmem)}`,
      `VmData:\t${kb(m.data)}`,
      `VmStk:\t${kb(m.stack)}`,
      `VmExe:\t${kb(m.exe)}`,
      `VmLib:\t${kb(0)}`,
      `VmPTE:\t${kb(m.pte)}`,
      `VmSwap:\t${kb(0)}`,
      `HugetlbPages:\t${kb(0)}`,
      `CoreDumping:\t0`,
      `THP_enabled:\t0`,
    );
  }
  const capEff = v.capEff ?? 0n;
  const capBnd = v.capBnd ?? CAP_FULL_SET;
  l.push(
    `Threads:\t${v.threads}`,
    `SigQ:\t${v.sigQ[0]}/${v.sigQ[1]}`,
    `SigPnd:\t${hex16(v.sigPnd)}`,
    `ShdPnd:\t${hex16(v.shdPnd)}`,
    `SigBlk:\t${hex16(v.sigBlk)}`,
    `SigIgn:\t${hex16(v.sigIgn)}`,
    `SigCgt:\t${hex16(v.sigCgt)}`,
    `CapInh:\t${hex16(0n)}`,
    `CapPrm:\t${hex16(capEff)}`,
    `CapEff:\t${hex16(capEff)}`,
    `CapBnd:\t${hex16(capBnd)}`,
    `CapAmb:\t${hex16(0n)}`,
    `NoNewPrivs:\t${v.noNewPrivs ?? 0}`,
    `Seccomp:\t0`,
    `Seccomp_filters:\t0`,
    `Speculation_Store_Bypass:\tunknown`,
    `SpeculationIndirectBranch:\tunknown`,
    `Cpus_allowed:\t1`,
    `Cpus_allowed_list:\t0`,
    `Mems_allowed:\t1`,
    `Mems_allowed_list:\t0`,
    `voluntary_ctxt_switches:\t${v.nvcsw}`,
    `nonvoluntary_ctxt_switches:\t${v.nivcsw}`,
  );
  return l.join('\n') + '\n';
}

export interface MapsLine {
  start: number;
  end: number;
  perms: string;
  offset: number;
  major: number;
  minor: number;
  ino: number;
  path: string;
}

/** One line of /proc/<pid>/maps (show_map_vma): the path column starts at column 74. */
export function formatMapsLine(m: MapsLine): string {
  const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');
  const head =
    `${hex(m.start, 8)}-${hex(m.end, 8)} ${m.perms} ${hex(m.offset, 8)} ` +
    `${hex(m.major, 2)}:${hex(m.minor, 2)} ${m.ino} `;
  return (m.path ? head.padEnd(73) + m.path : head) + '\n';
}

// ---- gathering values from a Task ----

/** The signal masks Linux shows: ignored (SIG_IGN) and caught (a handler). */
function sigMasks(t: Task): { ignored: bigint; caught: bigint } {
  let ignored = 0n;
  let caught = 0n;
  t.sighand.action.forEach((a, i) => {
    if (i === 0) return;
    const bit = 1n << BigInt(i - 1);
    if (a.handler === 1) ignored |= bit;
    else if (a.handler !== 0) caught |= bit;
  });
  return { ignored, caught };
}

function alive(t: Task): boolean {
  return t.state !== TaskState.ZOMBIE && t.state !== TaskState.DEAD;
}

/** What `stat` and `status` call the task's parent: its real parent's tgid (0 for init). */
function ppidOf(t: Task): number {
  const p = t.groupLeader.parent;
  return p ? p.tgid : t.ppid;
}

function pageCount(bytes: number): number {
  return Math.ceil(bytes / PAGE_SIZE);
}

export function taskStat(t: Task, whole: boolean): string {
  const mm = alive(t) ? t.mm : null;
  const st = mm ? mm.vmStats() : null;
  const cpu = whole ? t.threadGroupCpuNs() : t.cpuNs;
  const { ignored, caught } = sigMasks(t);
  const rt = t.rtPriority > 0;
  const tty = alive(t) ? getCurrentTty(t) : null;
  return formatStat({
    pid: t.pid,
    flags: taskFlags(t),
    comm: t.comm,
    state: t.signal.groupStopped && alive(t) ? 'T' : stateLetter(t.state),
    ppid: ppidOf(t),
    pgrp: t.pgid,
    session: t.sid,
    // The controlling tty's device number (new_encode_dev) and foreground group, as do_task_stat.
    ttyNr: tty ? tty.rdev : 0,
    tpgid: tty && tty.pgrp > 0 ? tty.pgrp : -1,
    utimeTicks: nsToTicks(cpu),
    stimeTicks: 0,
    cutimeTicks: 0,
    cstimeTicks: 0,
    priority: rt ? -1 - t.rtPriority : 20 + t.nice,
    nice: t.nice,
    numThreads: t.groupLeader.threads.filter(alive).length || 1,
    starttimeTicks: nsToTicks(t.startTimeNs),
    vsizeBytes: st ? st.total * PAGE_SIZE : 0,
    rssPages: st ? st.rss : 0,
    rsslim: 18446744073709551615n,
    startCode: mm ? mm.startCode : 0,
    endCode: mm ? mm.endCode : 0,
    startStack: mm ? mm.startStack : 0,
    pending: t.pending,
    blocked: t.blocked,
    ignored,
    caught,
    exitSignal: t.exitSignal,
    rtPriority: t.rtPriority,
    policy: t.policy,
    startData: mm ? mm.startData : 0,
    endData: mm ? mm.endData : 0,
    startBrk: mm ? mm.startBrk : 0,
    argStart: mm ? mm.argStart : 0,
    argEnd: mm ? mm.argEnd : 0,
    envStart: mm ? mm.envStart : 0,
    envEnd: mm ? mm.envEnd : 0,
    exitCode: alive(t) ? 0 : t.exitCode,
  });
}

export function taskStatm(t: Task): string {
  if (!alive(t)) return formatStatm(0, 0, 0, 0, 0);
  const mm = t.mm;
  const st = mm.vmStats();
  const text = pageCount(Math.max(0, mm.endCode - mm.startCode));
  return formatStatm(st.total, st.rss, st.rssFile + st.rssShmem, text, st.data + st.stack);
}

/** fdt->max_fds: the fd table's size, 64 and doubling as higher fds are used (expand_fdtable). */
function fdTableSize(t: Task): number {
  const fds = t.files.openFds();
  const need = fds.length ? fds[fds.length - 1]! + 1 : 0;
  let n = 64;
  while (n < need) n *= 2;
  return n;
}

export function taskStatus(t: Task): string {
  const live = alive(t);
  const kthread = isKthread(t);
  const st = live && !kthread ? t.mm.vmStats() : null; // a kernel thread has no mm: no Vm* lines
  const c = t.cred;
  const { ignored, caught } = sigMasks(t);
  const umask = t.fs.umask;
  return formatStatus({
    name: t.comm,
    umask,
    state: t.signal.groupStopped && alive(t) ? 'T' : stateLetter(t.state),
    tgid: t.tgid,
    pid: t.pid,
    ppid: ppidOf(t),
    uids: [c.uid, c.euid, c.suid, c.fsuid],
    gids: [c.gid, c.egid, c.sgid, c.fsgid],
    fdSize: fdTableSize(t),
    groups: c.groups,
    pgid: t.pgid,
    sid: t.sid,
    kthread,
    capEff: c.euid === 0 ? CAP_FULL_SET : 0n,
    capBnd: CAP_FULL_SET,
    noNewPrivs: t.prctl.noNewPrivs,
    vm: st
      ? {
          peak: st.total,
          size: st.total,
          locked: st.locked,
          hwm: Math.max(st.rss, t.mm.hiwaterRss),
          rss: st.rss,
          rssAnon: st.rssAnon,
          rssFile: st.rssFile,
          rssShmem: st.rssShmem,
          data: st.data,
          stack: st.stack,
          exe: st.exec,
          pte: st.pgtables,
        }
      : null,
    threads: t.groupLeader.threads.filter(alive).length || 1,
    sigQ: [0, t.signal.rlim[RLIMIT_SIGPENDING]?.cur ?? 0],
    sigPnd: t.pending,
    shdPnd: t.signal.sharedPending,
    sigBlk: t.blocked,
    sigIgn: ignored,
    sigCgt: caught,
    nvcsw: t.nvcsw,
    nivcsw: t.nivcsw,
  });
}

/** Bytes [start, end) of the task's memory (access_remote_vm), or nothing. */
function userRange(t: Task, start: number, end: number): Uint8Array {
  if (!alive(t) || end <= start) return new Uint8Array(0);
  const r = copyFromUser(t.mm, start, Math.min(end - start, 1 << 20));
  return typeof r === 'number' ? new Uint8Array(0) : r;
}

export function taskCmdline(t: Task): Uint8Array {
  return userRange(t, t.mm.argStart, t.mm.argEnd);
}

export function taskEnviron(t: Task): Uint8Array {
  return userRange(t, t.mm.envStart, t.mm.envEnd);
}

export function taskMaps(t: Task, root: Path): string {
  if (!alive(t)) return '';
  const mm = t.mm;
  let out = '';
  for (const v of mm.vmas) {
    const perms =
      (v.flags & VM_READ ? 'r' : '-') +
      (v.flags & VM_WRITE ? 'w' : '-') +
      (v.flags & VM_EXEC ? 'x' : '-') +
      (v.flags & VM_SHARED ? 's' : 'p');
    let path = '';
    let ino = 0;
    let major = 0;
    let minor = 0;
    const f = v.file as unknown as File | null;
    if (f && typeof f === 'object' && 'path' in f && f.path) {
      path = dPath(f.path, root);
      ino = f.inode.ino;
      const dev = f.inode.sb.dev;
      major = devMajor(dev);
      minor = devMinor(dev);
    } else if (v.flags & VM_GROWSDOWN || (v.start <= mm.startStack && mm.startStack < v.end)) {
      path = '[stack]';
    } else if (mm.startBrk > 0 && v.start <= mm.brk && v.end >= mm.startBrk) {
      path = '[heap]';
    }
    out += formatMapsLine({ start: v.start, end: v.end, perms, offset: f ? v.offset : 0, major, minor, ino, path });
  }
  return out;
}

/** The rows of /proc/<pid>/limits in RLIMIT_* order (lnames in fs/proc/base.c). */
const LIMIT_NAMES: [string, string][] = [
  ['Max cpu time', 'seconds'],
  ['Max file size', 'bytes'],
  ['Max data size', 'bytes'],
  ['Max stack size', 'bytes'],
  ['Max core file size', 'bytes'],
  ['Max resident set', 'bytes'],
  ['Max processes', 'processes'],
  ['Max open files', 'files'],
  ['Max locked memory', 'bytes'],
  ['Max address space', 'bytes'],
  ['Max file locks', 'locks'],
  ['Max pending signals', 'signals'],
  ['Max msgqueue size', 'bytes'],
  ['Max nice priority', ''],
  ['Max realtime priority', ''],
  ['Max realtime timeout', 'us'],
];

/** /proc/<pid>/limits (proc_pid_limits). */
export function formatLimits(rlim: { cur: number; max: number }[]): string {
  const v = (n: number): string => (n === Infinity ? 'unlimited' : String(n));
  let out = `${'Limit'.padEnd(25)} ${'Soft Limit'.padEnd(20)} ${'Hard Limit'.padEnd(20)} ${'Units'.padEnd(10)}\n`;
  LIMIT_NAMES.forEach(([name, unit], i) => {
    const r = rlim[i] ?? { cur: Infinity, max: Infinity };
    out += `${name.padEnd(25)} ${v(r.cur).padEnd(20)} ${v(r.max).padEnd(20)} ${unit ? unit.padEnd(10) : ''}\n`;
  });
  return out;
}

/** One line of /proc/<pid>/mounts (show_vfsmnt): device, mount point, type, options, 0 0. */
export function formatMountsLine(dev: string, dir: string, type: string, readonly: boolean): string {
  const esc = (s: string): string =>
    s.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return `${esc(dev)} ${esc(dir)} ${type} ${readonly ? 'ro' : 'rw'} 0 0\n`;
}

/**
 * /proc/<pid>/smaps_rollup (show_smaps_rollup): the totals of all mappings. This kernel does
 * not count how many address spaces map each page, so every page counts as private and Pss
 * equals Rss (Linux's numbers for a process that shares nothing); file pages are clean,
 * anonymous and shmem pages dirty.
 */
export function formatSmapsRollup(
  start: number,
  end: number,
  v: { rssAnon: number; rssFile: number; rssShmem: number; locked: number },
): string {
  const kbLine = (name: string, pages: number): string =>
    `${(name + ':').padEnd(16)}${String(pages * (PAGE_SIZE / 1024)).padStart(8)} kB\n`;
  const rss = v.rssAnon + v.rssFile + v.rssShmem;
  const head = formatMapsLine({ start, end, perms: '---p', offset: 0, major: 0, minor: 0, ino: 0, path: '[rollup]' });
  return (
    head +
    kbLine('Rss', rss) +
    kbLine('Pss', rss) +
    kbLine('Pss_Dirty', v.rssAnon + v.rssShmem) +
    kbLine('Pss_Anon', v.rssAnon) +
    kbLine('Pss_File', v.rssFile) +
    kbLine('Pss_Shmem', v.rssShmem) +
    kbLine('Shared_Clean', 0) +
    kbLine('Shared_Dirty', 0) +
    kbLine('Private_Clean', v.rssFile) +
    kbLine('Private_Dirty', v.rssAnon + v.rssShmem) +
    kbLine('Referenced', rss) +
    kbLine('Anonymous', v.rssAnon) +
    kbLine('KSM', 0) +
    kbLine('LazyFree', 0) +
    kbLine('AnonHugePages', 0) +
    kbLine('ShmemPmdMapped', 0) +
    kbLine('FilePmdMapped', 0) +
    kbLine('Shared_Hugetlb', 0) +
    kbLine('Private_Hugetlb', 0) +
    kbLine('Swap', 0) +
    kbLine('SwapPss', 0) +
    kbLine('Locked', v.locked)
  );
}

export function taskSmapsRollup(t: Task): string {
  if (!alive(t) || isKthread(t) || t.mm.vmas.length === 0) return '';
  const vmas = t.mm.vmas;
  const st = t.mm.vmStats();
  return formatSmapsRollup(vmas[0]!.start, vmas[vmas.length - 1]!.end, {
    rssAnon: st.rssAnon,
    rssFile: st.rssFile,
    rssShmem: st.rssShmem,
    locked: Math.min(st.locked, st.rss),
  });
}
