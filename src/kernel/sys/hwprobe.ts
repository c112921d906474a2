/**
 * riscv_hwprobe(2) (arch/riscv/kernel/sys_hwprobe.c, uapi asm/hwprobe.h), as Linux 6.12 answers
 * it on an RV64IMAFDC hart. (Debian 12's qemu-user 7.2 predates the call and returns -ENOSYS;
 * glibc handles both answers the same way for an IMAFDC machine.)
 */
import { EFAULT, EINVAL } from '../errno.js';
import type { Task } from '../sched/task.js';
import { copyFromUser, copyToUser } from '../mm/uaccess.js';
import { TIMEBASE_HZ } from '../../machine/dev/clock.js';
import { TASK_SIZE } from '../mm/layout.js';

export const RISCV_HWPROBE_KEY_MVENDORID = 0;
export const RISCV_HWPROBE_KEY_MARCHID = 1;
export const RISCV_HWPROBE_KEY_MIMPID = 2;
export const RISCV_HWPROBE_KEY_BASE_BEHAVIOR = 3;
export const RISCV_HWPROBE_BASE_BEHAVIOR_IMA = 1 << 0;
export const RISCV_HWPROBE_KEY_IMA_EXT_0 = 4;
export const RISCV_HWPROBE_IMA_FD = 1 << 0;
export const RISCV_HWPROBE_IMA_C = 1 << 1;
export const RISCV_HWPROBE_KEY_CPUPERF_0 = 5;
export const RISCV_HWPROBE_KEY_ZICBOZ_BLOCK_SIZE = 6;
export const RISCV_HWPROBE_KEY_HIGHEST_VIRT_ADDRESS = 7;
export const RISCV_HWPROBE_KEY_TIME_CSR_FREQ = 8;
export const RISCV_HWPROBE_KEY_MISALIGNED_SCALAR_PERF = 9;
/** Misaligned scalar accesses are done by the hart itself, at near full speed. */
export const RISCV_HWPROBE_MISALIGNED_FAST = 3;
export const RISCV_HWPROBE_WHICH_CPUS = 1 << 0;

/** The value of one key, or null for a key this kernel does not know (reported as key -1). */
function probe(key: number): number | null {
  switch (key) {
    case RISCV_HWPROBE_KEY_MVENDORID:
    case RISCV_HWPROBE_KEY_MARCHID:
    case RISCV_HWPROBE_KEY_MIMPID:
      return 0;
    case RISCV_HWPROBE_KEY_BASE_BEHAVIOR:
      return RISCV_HWPROBE_BASE_BEHAVIOR_IMA;
    case RISCV_HWPROBE_KEY_IMA_EXT_0:
      return RISCV_HWPROBE_IMA_FD | RISCV_HWPROBE_IMA_C;
    case RISCV_HWPROBE_KEY_CPUPERF_0:
    case RISCV_HWPROBE_KEY_MISALIGNED_SCALAR_PERF:
      return RISCV_HWPROBE_MISALIGNED_FAST;
    case RISCV_HWPROBE_KEY_ZICBOZ_BLOCK_SIZE:
      return 0; // no Zicboz
    case RISCV_HWPROBE_KEY_HIGHEST_VIRT_ADDRESS:
      return TASK_SIZE - 1;
    case RISCV_HWPROBE_KEY_TIME_CSR_FREQ:
      return TIMEBASE_HZ;
    default:
      return null;
  }
}

/** sys_riscv_hwprobe(pairs, pair_count, cpusetsize, cpus, flags). One CPU (CPU 0). */
export function sysRiscvHwprobe(
  task: Task,
  pairs: number,
  count: number,
  cpusetsize: number,
  cpus: number,
  flags: number,
): number {
  if (flags !== 0) return -EINVAL; // RISCV_HWPROBE_WHICH_CPUS is not supported yet
  if (cpusetsize !== 0 || cpus !== 0) {
    if (cpus === 0 || cpusetsize <= 0) return -EINVAL;
    const m = copyFromUser(task.mm, cpus, Math.min(cpusetsize, 512));
    if (typeof m === 'number') return -EFAULT;
    if ((m[0]! & 1) === 0) return -EINVAL; // CPU 0 is the only online CPU
  }
  for (let i = 0; i < count; i++) {
    const va = pairs + i * 16;
    const b = copyFromUser(task.mm, va, 16);
    if (typeof b === 'number') return -EFAULT;
    const v = new DataView(b.buffer, b.byteOffset, 16);
    const hi = v.getInt32(4, true);
    const lo = v.getUint32(0, true);
    const val = hi === 0 ? probe(lo) : null;
    const out = new Uint8Array(16);
    const o = new DataView(out.buffer);
    if (val === null) {
      o.setInt32(0, -1, true);
      o.setInt32(4, -1, true);
    } else {
      o.setUint32(0, lo, true);
      o.setUint32(8, (val % 0x1_0000_0000) >>> 0, true);
      o.setUint32(12, Math.floor(val / 0x1_0000_0000) >>> 0, true);
    }
    if (copyToUser(task.mm, va, out) < 0) return -EFAULT;
  }
  return 0;
}
