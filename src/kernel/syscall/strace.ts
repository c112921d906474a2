/**
 * `--strace`: print each system call the way `qemu-riscv64 -strace` does —
 * `PID name(args) = result` — to the host's stderr (never to the guest's streams).
 * Paths are shown as strings, pointers in hex, the rest in decimal.
 */
import * as numbers from './numbers.js';
import * as errno from '../errno.js';
import type { Task } from '../sched/task.js';
import { strncpyFromUser } from '../mm/uaccess.js';

const NAMES: string[] = [];
for (const [k, v] of Object.entries(numbers)) {
  if (k.startsWith('SYS_') && typeof v === 'number') NAMES[v] = k.slice(4);
}

const ERRNO_NAMES: string[] = [];
for (const [k, v] of Object.entries(errno)) {
  if (typeof v === 'number' && ERRNO_NAMES[v] === undefined) ERRNO_NAMES[v] = k;
}

/** glibc strerror() texts for the errors a program meets most. */
const ERRNO_TEXT: Record<number, string> = {
  1: 'Operation not permitted',
  2: 'No such file or directory',
  3: 'No such process',
  4: 'Interrupted system call',
  5: 'Input/output error',
  7: 'Argument list too long',
  8: 'Exec format error',
  9: 'Bad file descriptor',
  10: 'No child processes',
  11: 'Resource temporarily unavailable',
  12: 'Cannot allocate memory',
  13: 'Permission denied',
  14: 'Bad address',
  17: 'File exists',
  20: 'Not a directory',
  21: 'Is a directory',
  22: 'Invalid argument',
  24: 'Too many open files',
  25: 'Inappropriate ioctl for device',
  28: 'No space left on device',
  29: 'Illegal seek',
  32: 'Broken pipe',
  34: 'Numerical result out of range',
  36: 'File name too long',
  38: 'Function not implemented',
  39: 'Directory not empty',
  40: 'Too many levels of symbolic links',
  61: 'No data available',
  95: 'Operation not supported',
  110: 'Connection timed out',
};

export function syscallName(nr: number): string {
  return NAMES[nr] ?? `syscall_${nr}`;
}

/**
 * Argument kinds: d = int, l = long, u = unsigned long, x = pointer, s = path string,
 * f = directory fd (AT_FDCWD), o = octal mode. Calls not listed print six longs.
 */
const FORMATS: Record<string, string> = {
  read: 'dxu',
  write: 'dxu',
  readv: 'dxd',
  writev: 'dxd',
  pread64: 'dxul',
  pwrite64: 'dxul',
  openat: 'fsxo',
  close: 'd',
  lseek: 'dld',
  dup: 'd',
  dup3: 'ddx',
  fcntl: 'ddx',
  ioctl: 'dxx',
  newfstatat: 'fsxx',
  fstat: 'dx',
  statx: 'fsxxx',
  getdents64: 'dxu',
  readlinkat: 'fsxu',
  faccessat: 'fso',
  faccessat2: 'fsox',
  mkdirat: 'fso',
  unlinkat: 'fsx',
  chdir: 's',
  fchdir: 'd',
  getcwd: 'xu',
  execve: 'sxx',
  exit: 'd',
  exit_group: 'd',
  brk: 'x',
  mmap: 'xuxxdl',
  munmap: 'xu',
  mprotect: 'xux',
  madvise: 'xud',
  mremap: 'xuuxx',
  clock_gettime: 'dx',
  clock_getres: 'dx',
  clock_nanosleep: 'ddxx',
  nanosleep: 'xx',
  gettimeofday: 'xx',
  getrandom: 'xux',
  uname: 'x',
  getpid: '',
  getppid: '',
  gettid: '',
  getuid: '',
  geteuid: '',
  getgid: '',
  getegid: '',
  set_tid_address: 'x',
  set_robust_list: 'xu',
  rt_sigaction: 'dxxu',
  rt_sigprocmask: 'dxxu',
  sigaltstack: 'xx',
  kill: 'dd',
  tgkill: 'ddd',
  tkill: 'dd',
  prlimit64: 'ddxx',
  sched_yield: '',
  sched_getaffinity: 'dux',
  umask: 'o',
  pipe2: 'xx',
  wait4: 'dxdx',
  prctl: 'dxxxx',
  rseq: 'xudx',
  riscv_hwprobe: 'xuuxu',
};

function hex(v: number): string {
  const u = v < 0 ? v + 2 ** 64 : v;
  return '0x' + u.toString(16).padStart(16, '0');
}

function fmtArg(task: Task, kind: string, v: number): string {
  switch (kind) {
    case 'd':
      return String(v | 0);
    case 'f':
      return (v | 0) === -100 ? 'AT_FDCWD' : String(v | 0);
    case 'x':
      return v === 0 ? 'NULL' : hex(v);
    case 'o':
      return '0' + (v >>> 0).toString(8);
    case 'u':
      return String(v < 0 ? v + 2 ** 64 : v);
    case 's': {
      if (v === 0) return 'NULL';
      const s = strncpyFromUser(task.mm, v, 4096);
      return typeof s === 'number' ? hex(v) : JSON.stringify(s);
    }
    default:
      return String(v);
  }
}

/** The "name(args)" part, read before the call runs (paths may change during it). */
export function formatCall(task: Task, nr: number, args: number[]): string {
  const name = syscallName(nr);
  const f = FORMATS[name];
  const parts: string[] = [];
  if (f === undefined) for (const a of args) parts.push(String(a));
  else for (let i = 0; i < f.length; i++) parts.push(fmtArg(task, f[i]!, args[i]!));
  return `${task.pid} ${name}(${parts.join(',')})`;
}

export function formatResult(nr: number, ret: number): string {
  if (ret < 0 && ret >= -4095) {
    const e = -ret;
    return `-1 errno=${e} (${ERRNO_TEXT[e] ?? ERRNO_NAMES[e] ?? 'Unknown error'})`;
  }
  const name = syscallName(nr);
  if (name === 'brk' || name === 'mmap' || name === 'mremap') return hex(ret);
  return String(ret);
}
