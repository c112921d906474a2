import { PhysicalMemory } from '../../../src/machine/memory.js';
import { BufferedCharStream } from '../../../src/machine/dev/char-stream.js';
import { BuddyAllocator } from '../../../src/kernel/mm/page_alloc.js';
import { MmStruct } from '../../../src/kernel/mm/mm_struct.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../../src/kernel/mm/mman.js';
import { copyFromUser, copyToUser } from '../../../src/kernel/mm/uaccess.js';
import { Task, type Cred, type TaskContext } from '../../../src/kernel/sched/task.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { createRootFs, type RootFs, type RootFsOptions } from '../../../src/kernel/fs/rootfs.js';
import { fsSyscalls } from '../../../src/kernel/fs/syscalls.js';

/** Start of the scratch user memory every test task has (1 MiB, read-write, anonymous). */
export const UBUF = 0x10000000;
export const UBUF_LEN = 1 << 20;

export function rootCred(uid = 0, gid = 0): Cred {
  return { uid, gid, euid: uid, egid: gid, suid: uid, sgid: gid, fsuid: uid, fsgid: gid, groups: [] };
}

export interface TestEnv {
  rootFs: RootFs;
  task: Task;
  stdin: BufferedCharStream;
  out: Uint8Array[];
  err: Uint8Array[];
  /** Call a system call by number with up to six arguments. */
  sys(nr: number, ...args: number[]): number | Promise<number>;
  /** Same, asserting a synchronous result. */
  call(nr: number, ...args: number[]): number;
  /** Put a NUL-terminated string at `off` in the scratch buffer; returns its address. */
  str(s: string, off?: number): number;
  put(bytes: Uint8Array, off: number): number;
  get(addr: number, len: number): Uint8Array;
}

/** A root filesystem and one task (real MmStruct with a scratch mapping) for syscall tests. */
export function makeEnv(opts: RootFsOptions & { uid?: number; gid?: number; tty?: boolean } = {}): TestEnv {
  const rootFs = createRootFs(opts);
  const mem = new PhysicalMemory(8 * 1024 * 1024);
  const alloc = new BuddyAllocator(mem, 16);
  const mm = new MmStruct({ mem, pageAlloc: alloc, flushTlb: () => {} });
  const r = mm.mmapRegion(UBUF, UBUF_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, null, 0);
  if (r !== UBUF) throw new Error(`mmap failed: ${r}`);
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const tty = opts.tty ?? false;
  const stdin = new BufferedCharStream(tty, () => {});
  const stdout = new BufferedCharStream(tty, (d) => out.push(d));
  const stderr = new BufferedCharStream(tty, (d) => err.push(d));
  const files = rootFs.newFilesStruct([stdin, stdout, stderr]);
  const fsStruct = rootFs.newFsStruct('/');
  const ctx = { x: new Int32Array(66), f: new Float64Array(32), pc: 0, fflags: 0, frm: 0 } as unknown as TaskContext;
  const kernel = {} as Kernel;
  const task = new Task(kernel, mm, files, fsStruct, rootCred(opts.uid ?? 0, opts.gid ?? 0), ctx);
  task.pid = task.tgid = 1;
  rootFs.setTaskSource({ find: (pid) => (pid === 1 ? task : null), tgids: () => [1] });
  const sys = (nr: number, ...args: number[]): number | Promise<number> => {
    const h = fsSyscalls[nr];
    if (!h) throw new Error(`no handler for ${nr}`);
    const a = [...args, 0, 0, 0, 0, 0, 0];
    return h(task, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!);
  };
  return {
    rootFs,
    task,
    stdin,
    out,
    err,
    sys,
    call(nr, ...args) {
      const v = sys(nr, ...args);
      if (typeof v !== 'number') throw new Error('unexpected Promise');
      return v;
    },
    str(s, off = 0) {
      const b = Buffer.from(s + '\0', 'latin1');
      copyToUser(mm, UBUF + off, b);
      return UBUF + off;
    },
    put(bytes, off) {
      copyToUser(mm, UBUF + off, bytes);
      return UBUF + off;
    },
    get(addr, len) {
      const v = copyFromUser(mm, addr, len);
      if (typeof v === 'number') throw new Error(`EFAULT at ${addr}`);
      return v;
    },
  };
}

export function text(bytes: Uint8Array[]): string {
  return Buffer.concat(bytes).toString('latin1');
}
