/**
 * execve (fs/exec.c): do_execveat_common → bprm_execve → search_binary_handler →
 * load_elf_binary (binfmt_elf.ts) or load_script (binfmt_script.ts), then begin_new_exec.
 *
 * Unlike Linux, the new address space is built completely before the old one is dropped, so
 * every failure (a malformed ELF, a missing interpreter, no memory) returns an error to the
 * caller instead of killing it after a point of no return; the result is otherwise the same.
 */
import { execSignals } from '../signal/signal.js';
import { exitTimers } from '../time/posix-timers.js';
import { E2BIG, EFAULT, EINVAL, ELOOP, ENOENT, ENOEXEC, ENOMEM, ENAMETOOLONG } from '../errno.js';
import type { Cred, Task } from '../sched/task.js';
import { TaskState, newTaskContext, setContextReg } from '../sched/task.js';
import { doExit, mmRelease, releaseTask } from '../sched/exit.js';
import { SIGKILL } from '../signal/signum.js';
import type { MmStruct } from '../mm/mm_struct.js';
import { copyFromUser, strncpyFromUser } from '../mm/uaccess.js';
import { STACK_TOP, STACK_EXPAND, PAGE_SIZE, pageAlignDown, pageAlignUp } from '../mm/layout.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../mm/mman.js';
import type { File } from '../fs/file.js';
import { RLIMIT_STACK, STK_LIM } from '../sys/resource.js';
import { BINPRM_BUF_SIZE, hasElfMagic } from './elf.js';
import {
  AT_BASE,
  AT_CLKTCK,
  AT_EGID,
  AT_ENTRY,
  AT_EUID,
  AT_EXECFN,
  AT_FLAGS,
  AT_GID,
  AT_HWCAP,
  AT_PAGESZ,
  AT_PHDR,
  AT_PHENT,
  AT_PHNUM,
  AT_RANDOM,
  AT_SECURE,
  AT_UID,
  ELF_HWCAP,
  PHENT_SIZE,
  USER_HZ,
  buildInitialStack,
  checkElfImage,
  installStack,
  mapImage,
  programBias,
  scanProgram,
  type ElfImage,
} from './binfmt_elf.js';
import { parseShebang } from './binfmt_script.js';
import { AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, S_ISGID, S_ISUID } from '../fs/uapi.js';
import { mntMaySuid } from '../fs/namespace.js';

/** Group execute permission (S_IXGRP). */
const S_IXGRP = 0o010;
import { execPathName, openExec } from './open_exec.js';

/** MAX_ARG_STRLEN: one argument or environment string, NUL included (32 pages). */
export const MAX_ARG_STRLEN = 32 * PAGE_SIZE;
/** MAX_ARG_STRINGS. */
export const MAX_ARG_STRINGS = 0x7fffffff;
/** ARG_MAX floor of bprm_stack_limits (32 pages). */
const ARG_MIN_LIMIT = 32 * PAGE_SIZE;
/** How many #! interpreters may chain (as search_binary_handler's depth limit, 5 levels). */
const MAX_SCRIPT_DEPTH = 5;

/** struct linux_binprm, the parts this kernel uses. */
export interface LinuxBinprm {
  /** The file being executed now (after #! it is the interpreter). */
  file: File;
  /** bprm->filename: the name as given to execve; AT_EXECFN and the comm come from it. */
  filename: string;
  /** bprm->interp: the name of what is finally executed (the script interpreter after #!). */
  interp: string;
  buf: Uint8Array;
  argv: Uint8Array[];
  envp: Uint8Array[];
}

/** A JS string of bytes (latin1, one char per byte, as strncpyFromUser returns) → bytes. */
export function latin1Bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/** bprm_stack_limits(): the space argument and environment strings may take (E2BIG beyond). */
export function checkArgLimits(task: Task, argv: Uint8Array[], envp: Uint8Array[]): number {
  const stackCur = task.signal.rlim[RLIMIT_STACK]!.cur;
  let limit = (STK_LIM / 4) * 3;
  limit = Math.min(limit, stackCur / 4);
  limit = Math.max(limit, ARG_MIN_LIMIT);
  const ptrSize = (Math.max(argv.length, 1) + envp.length) * 8;
  if (limit <= ptrSize) return -E2BIG;
  limit -= ptrSize;
  let total = 0;
  for (const s of argv) {
    if (s.length + 1 > MAX_ARG_STRLEN) return -E2BIG;
    total += s.length + 1;
  }
  for (const s of envp) {
    if (s.length + 1 > MAX_ARG_STRLEN) return -E2BIG;
    total += s.length + 1;
  }
  return total > limit ? -E2BIG : 0;
}

/** Read a NULL-terminated array of user string pointers (get_user_arg_ptr + copy_strings). */
function copyStringsFromUser(task: Task, arrayVa: number): Uint8Array[] | number {
  const out: Uint8Array[] = [];
  if (arrayVa === 0) return out;
  let total = 0;
  for (let i = 0; ; i++) {
    if (i >= MAX_ARG_STRINGS) return -E2BIG;
    const pb = copyFromUser(task.mm, arrayVa + i * 8, 8);
    if (typeof pb === 'number') return -EFAULT;
    const v = new DataView(pb.buffer, pb.byteOffset, 8);
    const ptr = v.getUint32(4, true) * 0x1_0000_0000 + v.getUint32(0, true);
    if (ptr === 0) break;
    const s = strncpyFromUser(task.mm, ptr, MAX_ARG_STRLEN);
    if (typeof s === 'number') return s === -ENAMETOOLONG ? -E2BIG : -EFAULT;
    total += s.length + 1;
    // Fail early rather than build gigabytes: the real limit is checked in checkArgLimits.
    if (total > STK_LIM * 2) return -E2BIG;
    out.push(latin1Bytes(s));
  }
  return out;
}

/** sys_execve(filename, argv, envp). */
export function sysExecve(task: Task, filenameVa: number, argvVa: number, envpVa: number): number {
  const filename = strncpyFromUser(task.mm, filenameVa, 4096);
  if (typeof filename === 'number') return filename;
  const argv = copyStringsFromUser(task, argvVa);
  if (typeof argv === 'number') return argv;
  const envp = copyStringsFromUser(task, envpVa);
  if (typeof envp === 'number') return envp;
  return doExecve(task, filename, argv, envp);
}

/**
 * sys_execveat(dirfd, filename, argv, envp, flags): as execve, relative to `dirfd`; with
 * AT_EMPTY_PATH and "" it executes the open file itself (fexecve). The name the new program
 * sees (AT_EXECFN, comm) is then "/dev/fd/N" or "/dev/fd/N/name", as Linux makes it.
 */
export function sysExecveat(
  task: Task,
  dirfd: number,
  filenameVa: number,
  argvVa: number,
  envpVa: number,
  flags: number,
): number {
  dirfd |= 0;
  flags |= 0;
  if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) return -EINVAL;
  const filename = strncpyFromUser(task.mm, filenameVa, 4096);
  if (typeof filename === 'number') return filename;
  const argv = copyStringsFromUser(task, argvVa);
  if (typeof argv === 'number') return argv;
  const envp = copyStringsFromUser(task, envpVa);
  if (typeof envp === 'number') return envp;
  return doExecve(task, filename, argv, envp, { dirfd, atFlags: flags });
}

/** Options of the first exec, which the worker makes on behalf of the host user. */
export interface ExecOptions {
  /** The /proc/self/exe target to report (qemu reports the host's realpath of the program). */
  exePath?: string;
  /** execveat's directory fd and AT_* flags. */
  dirfd?: number;
  atFlags?: number;
}

/**
 * do_execveat_common: run `filename` with `argv` and `envp` in `task`. On success the task's
 * registers, address space and exec-related state are replaced and 0 is returned;
 * on failure nothing changed and -errno is returned.
 */
export function doExecve(
  task: Task,
  filename: string,
  argv: Uint8Array[],
  envp: Uint8Array[],
  opts: ExecOptions = {},
): number {
  const dirfd = opts.dirfd ?? AT_FDCWD;
  const atFlags = opts.atFlags ?? 0;
  // getname() rejects empty names unless AT_EMPTY_PATH.
  if (filename.length === 0 && !(atFlags & AT_EMPTY_PATH)) return -ENOENT;
  // Linux 5.18+: an empty argv gets "" as argv[0] so argv[1] is never envp[0].
  if (argv.length === 0) argv = [new Uint8Array(0)];
  const r = checkArgLimits(task, argv, envp);
  if (r < 0) return r;
  const opened = openExec(task, filename, dirfd, atFlags);
  if (typeof opened === 'number') return opened;
  // alloc_bprm(): the name of an fd-relative program is /dev/fd/N[/name].
  let shownName = filename;
  if (dirfd !== AT_FDCWD && !filename.startsWith('/'))
    shownName = filename === '' ? `/dev/fd/${dirfd}` : `/dev/fd/${dirfd}/${filename}`;
  const bprm: LinuxBinprm = {
    file: opened,
    filename: shownName,
    interp: shownName,
    buf: new Uint8Array(0),
    argv,
    envp,
  };
  try {
    return searchBinaryHandler(task, bprm, 0, opts);
  } finally {
    opened.put(); // the mappings hold their own references
  }
}

function readBuf(file: File): Uint8Array | number {
  const buf = new Uint8Array(BINPRM_BUF_SIZE);
  const n = file.pread(buf, 0);
  if (n < 0) return n;
  return buf.subarray(0, n);
}

/** search_binary_handler: ELF, or a #! script (which recurses with its interpreter). */
function searchBinaryHandler(task: Task, bprm: LinuxBinprm, depth: number, opts: ExecOptions): number {
  if (depth > MAX_SCRIPT_DEPTH) return -ELOOP;
  const buf = readBuf(bprm.file);
  if (typeof buf === 'number') return buf;
  bprm.buf = buf;
  if (hasElfMagic(buf)) return loadElfBinary(task, bprm, opts);
  if (buf.length >= 2 && buf[0] === 0x23 && buf[1] === 0x21) {
    // load_script: argv becomes [interpreter, optional-arg, script-path, original argv[1..]].
    const sb = parseShebang(buf);
    if (typeof sb === 'number') return sb;
    const interpFile = openExec(task, sb.interpreter);
    if (typeof interpFile === 'number') return interpFile;
    const newArgv = [latin1Bytes(sb.interpreter)];
    if (sb.arg !== null) newArgv.push(latin1Bytes(sb.arg));
    newArgv.push(latin1Bytes(bprm.interp));
    for (let i = 1; i < bprm.argv.length; i++) newArgv.push(bprm.argv[i]!);
    const r = checkArgLimits(task, newArgv, bprm.envp);
    if (r < 0) return r;
    try {
      return searchBinaryHandler(
        task,
        { ...bprm, file: interpFile, interp: sb.interpreter, argv: newArgv },
        depth + 1,
        {},
      );
    } finally {
      interpFile.put();
    }
  }
  return -ENOEXEC;
}

/**
 * load_elf_binary: check the program (and its interpreter), build the new address space with
 * its segments and stack, then install it (begin_new_exec + start_thread).
 */
function loadElfBinary(task: Task, bprm: LinuxBinprm, opts: ExecOptions): number {
  const image = checkElfImage(bprm.file, bprm.buf);
  if (typeof image === 'number') return image;
  const info = scanProgram(image);
  if (typeof info === 'number') return info;
  if (info.interpPath === null) return loadElfWithInterp(task, bprm, opts, image, info.executableStack, null);
  const f = openExec(task, info.interpPath);
  if (typeof f === 'number') return f;
  try {
    const interp = checkElfImage(f, null, true);
    if (typeof interp === 'number') return interp;
    return loadElfWithInterp(task, bprm, opts, image, info.executableStack, interp);
  } finally {
    f.put();
  }
}

function loadElfWithInterp(
  task: Task,
  bprm: LinuxBinprm,
  opts: ExecOptions,
  image: ElfImage,
  executableStack: boolean,
  interp: ElfImage | null,
): number {
  const kernel = task.kernel;
  let mm: MmStruct;
  try {
    mm = kernel.newMm();
  } catch {
    return -ENOMEM; // not even a page-table root frame is free
  }
  const fail = (err: number): number => {
    mm.destroy();
    return err;
  };
  mm.setStackRlimit(Math.min(task.signal.rlim[RLIMIT_STACK]!.cur, Number.MAX_SAFE_INTEGER));

  const prog = mapImage(mm, image, programBias(image));
  if (typeof prog === 'number') return fail(prog);
  let entry = prog.entry;
  let interpBias = 0;
  if (interp) {
    const im = mapImage(mm, interp, null);
    if (typeof im === 'number') return fail(im);
    interpBias = im.loadBias;
    entry = im.entry;
  }

  // The stack: strings and tables at the top, grows down (setup_arg_pages).
  const random = new Uint8Array(16);
  crypto.getRandomValues(random);
  const cred = execCred(task, bprm.file);
  const secure = cred.euid !== cred.uid || cred.egid !== cred.gid ? 1 : 0;
  const execfn = latin1Bytes(bprm.filename);
  const { bytes, layout } = buildInitialStack(STACK_TOP, {
    argv: bprm.argv,
    envp: bprm.envp,
    execfn,
    random,
    // The order and the set qemu-riscv64 gives (our oracle): Linux adds AT_SYSINFO_EHDR
    // (vDSO, not implemented), AT_MINSIGSTKSZ and cache geometry, and orders them differently.
    auxv: [
      [AT_PHDR, prog.phdrAddr],
      [AT_PHENT, PHENT_SIZE],
      [AT_PHNUM, image.header.phnum],
      [AT_PAGESZ, PAGE_SIZE],
      [AT_BASE, interpBias],
      [AT_FLAGS, 0],
      [AT_ENTRY, prog.entry],
      [AT_UID, cred.uid],
      [AT_EUID, cred.euid],
      [AT_GID, cred.gid],
      [AT_EGID, cred.egid],
      [AT_HWCAP, ELF_HWCAP],
      [AT_CLKTCK, USER_HZ],
      [AT_RANDOM, 0],
      [AT_SECURE, secure],
      [AT_EXECFN, 0],
    ],
  });
  const stackLow = pageAlignDown(layout.bottom) - STACK_EXPAND;
  const sr = mm.setupStack(STACK_TOP, STACK_TOP - stackLow);
  if (sr < 0) return fail(sr);
  if (executableStack) {
    // PT_GNU_STACK with PF_X (EXSTACK_ENABLE_X): the stack VMA gets VM_EXEC.
    const pr = mm.mprotect(stackLow, STACK_TOP - stackLow, PROT_READ | PROT_WRITE | PROT_EXEC);
    if (pr < 0) return fail(pr);
  }
  if (installStack(mm, bytes, layout.sp) < 0) return fail(-ENOMEM);

  mm.startCode = prog.startCode;
  mm.endCode = prog.endCode;
  mm.startData = prog.startData;
  mm.endData = prog.endData;
  mm.startBrk = mm.brk = pageAlignUp(prog.elfBrk);
  mm.startStack = layout.sp;
  mm.argStart = layout.argStart;
  mm.argEnd = layout.argEnd;
  mm.envStart = layout.envStart;
  mm.envEnd = layout.envEnd;

  beginNewExec(task, mm, bprm, opts);
  // commit_creds(bprm->cred): the set-id program runs with its owner's effective ids.
  task.cred = cred;
  if (secure) task.prctl.dumpable = 0; // SUID_DUMP_DISABLE for set-id programs
  // start_thread(): every register zero (a0 = 0: no rtld_fini for a static program), pc and sp set.
  const ctx = newTaskContext();
  ctx.pc = entry;
  setContextReg(ctx, 2, layout.sp);
  task.context = ctx;
  if (kernel.current === task) kernel.hart.loadContext(ctx);
  return 0;
}

/**
 * de_thread(): the exec'ing thread becomes the only thread of its process. The others are
 * killed; a thread other than the leader takes over the leader's pid, parent and children.
 */
function deThread(task: Task): void {
  const kernel = task.kernel;
  const leader = task.groupLeader;
  for (const t of [...leader.threads]) {
    if (t !== task && (t.state === TaskState.RUNNING || t.state === TaskState.INTERRUPTIBLE)) doExit(t, SIGKILL);
  }
  if (leader === task) return;
  // The old leader is a zombie nobody will be told about: release it and take its place.
  const oldPid = task.pid;
  if (kernel.tasks.get(oldPid) === task) kernel.tasks.delete(oldPid);
  const parent = leader.parent;
  parent?.children.delete(leader);
  for (const c of leader.children) {
    c.parent = task;
    task.children.add(c);
  }
  leader.children.clear();
  leader.threads = leader.threads.filter((t) => t !== task);
  releaseTask(leader);
  task.pid = leader.pid;
  task.groupLeader = task;
  task.threads = [task];
  task.parent = parent;
  task.ppid = leader.ppid;
  task.exitSignal = leader.exitSignal;
  task.startTimeNs = leader.startTimeNs;
  parent?.children.add(task);
  kernel.tasks.set(task.pid, task);
  if (kernel.initTask === leader) kernel.initTask = task;
}

/** Does a live task other than `task` use this object (files, sighand)? */
function sharedWithOthers(task: Task, pick: (t: Task) => unknown): boolean {
  const x = pick(task);
  for (const t of task.kernel.tasks.values()) {
    if (t !== task && pick(t) === x && (t.state === TaskState.RUNNING || t.state === TaskState.INTERRUPTIBLE))
      return true;
  }
  return false;
}

/**
 * bprm_fill_uid + bprm_creds_from_file: the credentials the program runs with. A set-user-ID
 * file makes its owner the effective (and saved) uid; a set-group-ID file with group execute
 * makes its group the effective gid — unless the mount is nosuid (mnt_may_suid). The fs ids
 * follow the effective ones.
 */
function execCred(task: Task, file: File): Cred {
  const c: Cred = { ...task.cred, groups: [...task.cred.groups] };
  const inode = file.inode;
  if (mntMaySuid(file.path)) {
    if (inode.mode & S_ISUID) c.euid = inode.uid;
    if ((inode.mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP)) c.egid = inode.gid;
  }
  c.suid = c.fsuid = c.euid;
  c.sgid = c.fsgid = c.egid;
  return c;
}

/** begin_new_exec + setup_new_exec: drop the old image and reset what exec resets. */
function beginNewExec(task: Task, mm: MmStruct, bprm: LinuxBinprm, opts: ExecOptions): void {
  const kernel = task.kernel;
  deThread(task);
  // exec_mm_release: a vfork parent may run again; the old clear_child_tid word is cleared and woken.
  mmRelease(task);
  const old = task.mm;
  task.mm = mm;
  if (kernel.current === task) kernel.hart.setRoot(mm.pgdPfn);
  // exec_mm_release: the old image's clear_child_tid and robust list no longer apply.
  task.clearChildTid = 0;
  task.robustList = 0;
  task.robustListLen = 0;
  if (old !== mm && !kernel.mmInUse(old, task)) old.destroy();
  // unshare_files() and unshare_sighand(): a table shared with another process is copied first.
  if (sharedWithOthers(task, (t) => t.files)) task.files = task.files.clone();
  task.files.closeOnExec();
  if (sharedWithOthers(task, (t) => t.sighand)) task.sighand = task.sighand.clone();
  execSignals(task); // flush_signal_handlers, sigaltstack reset, pending restart state
  exitTimers(task.signal, true); // exit_itimers(): POSIX timers die at exec, itimers stay
  // __set_task_comm(kbasename(bprm->filename)), TASK_COMM_LEN - 1 bytes.
  const base = bprm.filename.slice(bprm.filename.lastIndexOf('/') + 1);
  task.comm = base.slice(0, 15);
  task.exePath = opts.exePath ?? execPathName(task, bprm.file);
  task.prctl.dumpable = 1;
}
