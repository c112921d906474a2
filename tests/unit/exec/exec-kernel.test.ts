// execve inside the kernel, without the worker: a failed exec leaves the caller untouched,
// a successful one installs the image, the stack and mm's layout fields.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { PhysicalMemory } from '../../../src/machine/memory.js';
import { Clock } from '../../../src/machine/dev/clock.js';
import { BufferedCharStream } from '../../../src/machine/dev/char-stream.js';
import { Hart } from '../../../src/machine/cpu/hart.js';
import { Kernel } from '../../../src/kernel/kernel.js';
import { BuddyAllocator } from '../../../src/kernel/mm/page_alloc.js';
import { createRootFs } from '../../../src/kernel/fs/rootfs.js';
import { Task, makeCred, newTaskContext } from '../../../src/kernel/sched/task.js';
import { switchTo } from '../../../src/kernel/sched/core.js';
import { doExecve, latin1Bytes } from '../../../src/kernel/exec/exec.js';
import { copyFromUser } from '../../../src/kernel/mm/uaccess.js';
import { EACCES, ENOENT, ENOEXEC, E2BIG } from '../../../src/kernel/errno.js';
import { STACK_TOP } from '../../../src/kernel/mm/layout.js';
import { fixture } from './fixtures.js';

function boot(): { kernel: Kernel; task: Task } {
  const mem = new PhysicalMemory(32 << 20);
  const clock = new Clock();
  const hart = new Hart(mem, clock);
  const kernel = new Kernel({ mem, hart, clock, console: () => {} });
  kernel.pageAlloc = new BuddyAllocator(mem, 0);
  kernel.rootFs = createRootFs({});
  const s = new BufferedCharStream(false, () => {});
  const task = new Task(
    kernel,
    kernel.newMm(),
    kernel.rootFs.newFilesStruct([s, s, s]),
    kernel.rootFs.newFsStruct('/'),
    makeCred(0, 0),
    newTaskContext(),
  );
  task.pid = task.tgid = task.pgid = task.sid = 1;
  kernel.tasks.set(1, task);
  switchTo(kernel, task);
  return { kernel, task };
}

const u64 = (b: Uint8Array, o: number): number => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(o, true));

describe('execve in the kernel', () => {
  it('installs a static program: pc at the entry, sp at argc, mm fields filled in', () => {
    const { kernel, task } = boot();
    const bytes = new Uint8Array(readFileSync(fixture('hello')));
    kernel.rootFs.addFile('/bin/hello', bytes, 0o755);
    const r = doExecve(task, '/bin/hello', [latin1Bytes('hello'), latin1Bytes('x')], [latin1Bytes('A=1')]);
    expect(r).toBe(0);
    const entry = u64(bytes, 24);
    expect(kernel.hart.pc).toBe(entry);
    const sp = kernel.hart.getReg(2);
    expect(sp % 16).toBe(0);
    const top = copyFromUser(task.mm, sp, STACK_TOP - sp);
    if (typeof top === 'number') throw new Error('stack not readable');
    expect(u64(top, 0)).toBe(2); // argc
    expect(task.mm.startStack).toBe(sp);
    expect(task.mm.startBrk % 4096).toBe(0);
    expect(task.mm.brk).toBe(task.mm.startBrk);
    expect(task.mm.startCode).toBeLessThanOrEqual(entry);
    expect(task.mm.endCode).toBeGreaterThan(entry);
    expect(task.comm).toBe('hello');
    expect(task.exePath).toBe('/bin/hello');
    for (let i = 1; i < 32; i++) if (i !== 2) expect(kernel.hart.getReg(i)).toBe(0);
  });

  it('fails without touching the caller: not ELF, missing, not executable, too many arguments', () => {
    const { kernel, task } = boot();
    kernel.rootFs.addFile('/bin/hello', new Uint8Array(readFileSync(fixture('hello'))), 0o755);
    expect(doExecve(task, '/bin/hello', [latin1Bytes('hello')], [])).toBe(0);
    const mm = task.mm;
    const pc = kernel.hart.pc;
    kernel.rootFs.addFile('/bin/junk', new TextEncoder().encode('just text\n'), 0o755);
    kernel.rootFs.addFile('/bin/noexec', new Uint8Array(readFileSync(fixture('hello'))), 0o644);
    const truncated = new Uint8Array(readFileSync(fixture('hello'))).subarray(0, 100);
    kernel.rootFs.addFile('/bin/truncated', truncated, 0o755);
    expect(doExecve(task, '/bin/junk', [], [])).toBe(-ENOEXEC);
    expect(doExecve(task, '/bin/missing', [], [])).toBe(-ENOENT);
    expect(doExecve(task, '/bin/noexec', [], [])).toBe(-EACCES);
    expect(doExecve(task, '/bin/truncated', [], [])).toBeLessThan(0);
    expect(doExecve(task, '/tmp', [], [])).toBe(-EACCES);
    const huge = new Uint8Array(200 * 1024).fill(0x41);
    expect(doExecve(task, '/bin/hello', [huge], [])).toBe(-E2BIG);
    expect(task.mm).toBe(mm);
    expect(kernel.hart.pc).toBe(pc);
  });

  it('runs a #! script through its interpreter with the script path in argv', () => {
    const { kernel, task } = boot();
    kernel.rootFs.addFile('/bin/stack', new Uint8Array(readFileSync(fixture('stack'))), 0o755);
    kernel.rootFs.addFile('/tmp/s', new TextEncoder().encode('#!/bin/stack -x\nignored\n'), 0o755);
    expect(doExecve(task, '/tmp/s', [latin1Bytes('s'), latin1Bytes('arg')], [])).toBe(0);
    const sp = kernel.hart.getReg(2);
    const top = copyFromUser(task.mm, sp, STACK_TOP - sp);
    if (typeof top === 'number') throw new Error('stack not readable');
    const argc = u64(top, 0);
    const argv: string[] = [];
    for (let i = 0; i < argc; i++) {
      const p = u64(top, 8 + 8 * i) - sp;
      argv.push(new TextDecoder().decode(top.subarray(p, top.indexOf(0, p))));
    }
    expect(argv).toEqual(['/bin/stack', '-x', '/tmp/s', 'arg']);
    expect(task.exePath).toBe('/bin/stack');
  });
});
