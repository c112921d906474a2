// Pid allocation (Kernel.allocPid, alloc_pid): counting up from 1, wrapping at pid_max to
// RESERVED_PIDS, never reusing a pid that names a task, process group or session.
import { describe, expect, it } from 'vitest';
import { Kernel, PID_MAX_DEFAULT, RESERVED_PIDS } from '../../../src/kernel/kernel.js';
import type { Task } from '../../../src/kernel/sched/task.js';
import type { PhysicalMemory } from '../../../src/machine/memory.js';
import type { Hart } from '../../../src/machine/cpu/hart.js';
import type { Clock } from '../../../src/machine/dev/clock.js';

function kernel(): Kernel {
  return new Kernel({
    mem: {} as PhysicalMemory,
    hart: {} as Hart,
    clock: { monotonicNs: () => 0 } as unknown as Clock,
    console: () => {},
  });
}

function fake(pid: number, pgid = pid, sid = pid): Task {
  return { pid, tgid: pid, pgid, sid, state: 0 } as unknown as Task;
}

describe('allocPid', () => {
  it('starts at 1 (init) and counts up', () => {
    const k = kernel();
    expect(k.pidMax).toBe(PID_MAX_DEFAULT);
    expect(k.allocPid()).toBe(1);
    k.tasks.set(1, fake(1));
    expect(k.allocPid()).toBe(2);
    expect(k.allocPid()).toBe(3);
  });

  it('wraps at pid_max to RESERVED_PIDS and skips pids in use as pid, pgid or sid', () => {
    const k = kernel();
    k.pidMax = 400;
    k.tasks.set(1, fake(1));
    for (let i = 0; i < 398; i++) k.allocPid(); // 1 … 399 handed out (1 twice is impossible: it is taken)
    k.tasks.set(RESERVED_PIDS, fake(RESERVED_PIDS));
    k.tasks.set(350, fake(350, 301, 302)); // names group 301 and session 302
    expect(k.allocPid()).toBe(303);
    expect(k.allocPid()).toBe(304);
  });

  it('returns -EAGAIN when every pid is busy', () => {
    const k = kernel();
    k.pidMax = 310;
    for (let p = 1; p < 310; p++) k.tasks.set(p, fake(p));
    expect(k.allocPid()).toBe(-11);
  });

  it('sizes threads-max from RAM as set_max_threads does', () => {
    const k = kernel();
    k.setMaxThreads(256 * 1024 * 1024);
    expect(k.maxThreads).toBe(2048);
    k.setMaxThreads(1024 * 1024);
    expect(k.maxThreads).toBe(20);
  });
});
