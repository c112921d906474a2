import type { Kernel } from '../kernel.js';
import type { MmStruct } from '../mm/mm_struct.js';
import type { FilesStruct } from '../fs/fdtable.js';
import type { FsStruct } from '../fs/fs_struct.js';

/** Credentials (struct cred): real, effective, saved and filesystem ids. */
export interface Cred {
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  suid: number;
  sgid: number;
  fsuid: number;
  fsgid: number;
  groups: number[];
}

/** User-mode register state saved while a task is not on the hart (struct pt_regs + FP state). */
export interface TaskContext {
  /** x0..x31 as lo/hi int32 pairs, the layout of Hart.x (x[2i] = low half, x[2i+1] = high half). */
  x: Int32Array;
  /** f0..f31 raw bits. */
  f: Float64Array;
  pc: number;
  fflags: number;
  frm: number;
}

/**
 * A task (task_struct): one guest thread. Owned by kernel/sched; other subsystems read the
 * fields they need (fs: files, fs, cred; mm: mm; proc: everything).
 */
export class Task {
  pid = 0;
  tgid = 0;
  ppid = 0;
  /** Executable name, at most 15 bytes (TASK_COMM_LEN 16). */
  comm = '';
  /** Absolute guest path of the executable: the target of /proc/self/exe. */
  exePath = '';

  constructor(
    readonly kernel: Kernel,
    public mm: MmStruct,
    public files: FilesStruct,
    public fs: FsStruct,
    public cred: Cred,
    public context: TaskContext,
  ) {}
}
