// The page cache and what stands on it: ramfs files whose storage is the page cache, MAP_SHARED
// file mappings that map the cache's frames, MAP_PRIVATE copy-on-write, truncation (SIGBUS),
// shared anonymous memory across fork (dup), SysV shm lifecycle, and the OOM killer's choice.
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../../src/machine/memory.js';
import { Clock } from '../../../src/machine/dev/clock.js';
import { BufferedCharStream } from '../../../src/machine/dev/char-stream.js';
import { Hart } from '../../../src/machine/cpu/hart.js';
import { Kernel } from '../../../src/kernel/kernel.js';
import { BuddyAllocator } from '../../../src/kernel/mm/page_alloc.js';
import { createRootFs } from '../../../src/kernel/fs/rootfs.js';
import { Task, TaskState, makeCred, newTaskContext } from '../../../src/kernel/sched/task.js';
import { switchTo } from '../../../src/kernel/sched/core.js';
import { filpOpen } from '../../../src/kernel/fs/open.js';
import type { File } from '../../../src/kernel/fs/file.js';
import { AT_FDCWD, O_CREAT, O_RDWR } from '../../../src/kernel/fs/uapi.js';
import { ATTR_SIZE } from '../../../src/kernel/fs/inode.js';
import { RamfsInode } from '../../../src/kernel/fs/ramfs/inode.js';
import type { MmStruct } from '../../../src/kernel/mm/mm_struct.js';
import {
  MADV_REMOVE,
  MREMAP_MAYMOVE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from '../../../src/kernel/mm/mman.js';
import { FAULT_SIGBUS } from '../../../src/kernel/mm/fault.js';
import { PAGE_KIND_FILE, PAGE_KIND_SHMEM, mappingOf } from '../../../src/kernel/mm/filemap.js';
import { copyFromUser, copyToUser } from '../../../src/kernel/mm/uaccess.js';
import { doMadvise } from '../../../src/kernel/mm/madvise.js';
import { doMremap } from '../../../src/kernel/mm/mremap.js';
import { IPC_CREAT, IPC_EXCL, IPC_PRIVATE, IPC_RMID, IPC_STAT } from '../../../src/kernel/ipc/util.js';
import {
  SHM_INFO,
  doShmat,
  doShmctl,
  doShmdt,
  doShmget,
  shmNamespace,
} from '../../../src/kernel/ipc/shm.js';
import { EEXIST, EINVAL, ENOENT } from '../../../src/kernel/errno.js';
import { oomKill, selectBadProcess } from '../../../src/kernel/mm/oom_kill.js';

const PS = 4096;
const RW = PROT_READ | PROT_WRITE;

function boot(mib = 32): { kernel: Kernel; task: Task } {
  const mem = new PhysicalMemory(mib << 20);
  const clock = new Clock();
  const hart = new Hart(mem, clock);
  const kernel = new Kernel({ mem, hart, clock, console: () => {} });
  kernel.pageAlloc = new BuddyAllocator(mem, 0);
  kernel.rootFs = createRootFs({});
  const task = newTask(kernel, 1);
  switchTo(kernel, task);
  return { kernel, task };
}

function newTask(kernel: Kernel, pid: number, mm?: MmStruct): Task {
  const s = new BufferedCharStream(false, () => {});
  const task = new Task(
    kernel,
    mm ?? kernel.newMm(),
    kernel.rootFs.newFilesStruct([s, s, s]),
    kernel.rootFs.newFsStruct('/'),
    makeCred(0, 0),
    newTaskContext(),
  );
  task.pid = task.tgid = task.pgid = task.sid = pid;
  task.comm = `t${pid}`;
  kernel.tasks.set(pid, task);
  return task;
}

function open(task: Task, path: string): File {
  const f = filpOpen(task, AT_FDCWD, path, O_RDWR | O_CREAT, 0o644);
  if (typeof f === 'number') throw new Error(`open ${path}: ${f}`);
  return f;
}

const text = (s: string): Uint8Array => new Uint8Array([...s].map((c) => c.charCodeAt(0)));
const str = (b: Uint8Array): string => String.fromCharCode(...b);

function peek(mm: MmStruct, va: number, n: number): string {
  const r = copyFromUser(mm, va, n);
  if (typeof r === 'number') throw new Error(`peek 0x${va.toString(16)}: ${r}`);
  return str(r);
}
function poke(mm: MmStruct, va: number, s: string): void {
  expect(copyToUser(mm, va, text(s))).toBe(0);
}
function preadStr(f: File, pos: number, n: number): string {
  const b = new Uint8Array(n);
  const r = f.pread(b, pos);
  return str(b.subarray(0, Math.max(0, r)));
}

describe('page cache: ramfs files', () => {
  it('keeps file bytes in the page cache; holes read as zeros without pages', () => {
    const { task } = boot();
    const f = open(task, '/tmp/a');
    expect(f.pwrite(text('hello'), 3 * PS - 2)).toBe(5);
    const inode = f.inode as RamfsInode;
    expect(inode.size).toBe(3 * PS + 3);
    expect(inode.mapping.indices()).toEqual([2, 3]);
    expect(preadStr(f, 3 * PS - 2, 5)).toBe('hello');
    const hole = new Uint8Array(PS);
    hole.fill(7);
    expect(f.pread(hole, 0)).toBe(PS);
    expect(hole.every((b) => b === 0)).toBe(true);
    expect(inode.mapping.nrpages).toBe(2);
  });

  it('MAP_SHARED maps the page-cache frame: stores are seen by read() and by another process', () => {
    const { kernel, task } = boot();
    const f = open(task, '/tmp/shared');
    f.pwrite(text('initial'), 0);
    const a = task.mm.mmapRegion(0, 2 * PS, RW, MAP_SHARED, f, 0);
    expect(a).toBeGreaterThan(0);
    expect(peek(task.mm, a, 7)).toBe('initial');
    poke(task.mm, a + 1, 'NIT');
    expect(preadStr(f, 0, 7)).toBe('iNITial');
    // The PTE points at the cache's frame.
    const inode = f.inode as RamfsInode;
    const page = inode.mapping.findPage(0)!;
    expect(task.mm.pt.translate(a)).toBe(page.pfn * PS);
    expect(kernel.pageAlloc.pageKind[page.pfn]).toBe(PAGE_KIND_FILE);
    expect(task.mm.vmStats().rssFile).toBe(1);
    // A write() shows through the mapping with no copy.
    f.pwrite(text('XY'), 5);
    expect(peek(task.mm, a, 7)).toBe('iNITiXY');
    // A second address space maps the same frame.
    const other = newTask(kernel, 2);
    const b = other.mm.mmapRegion(0, 2 * PS, RW, MAP_SHARED, f, 0);
    expect(peek(other.mm, b, 7)).toBe('iNITiXY');
    poke(other.mm, b + 2 * 0, 'Q');
    expect(peek(task.mm, a, 1)).toBe('Q');
    // An address space that exits leaves the mapping's i_mmap set.
    expect(inode.mapping.mms.has(other.mm)).toBe(true);
    other.mm.destroy();
    expect(inode.mapping.mms.has(other.mm)).toBe(false);
    // Unmapping keeps the data (it is the file).
    expect(task.mm.unmapRegion(a, 2 * PS)).toBe(0);
    expect(preadStr(f, 0, 7)).toBe('QNITiXY');
    expect(task.mm.vmStats().rssFile).toBe(0);
  });

  it('MAP_PRIVATE sees file changes until it writes a page, then keeps its copy', () => {
    const { task } = boot();
    const f = open(task, '/tmp/private');
    f.pwrite(text('AAAA'), 0);
    f.pwrite(text('BBBB'), PS);
    const p = task.mm.mmapRegion(0, 2 * PS, RW, MAP_PRIVATE, f, 0);
    expect(peek(task.mm, p, 4)).toBe('AAAA');
    f.pwrite(text('aa'), 0);
    expect(peek(task.mm, p, 4)).toBe('aaAA'); // not yet copied: the cache page, read-only
    poke(task.mm, p, 'z');
    expect(peek(task.mm, p, 4)).toBe('zaAA');
    expect(preadStr(f, 0, 4)).toBe('aaAA'); // the file is untouched
    f.pwrite(text('QQQQ'), 0);
    expect(peek(task.mm, p, 4)).toBe('zaAA'); // after COW: no longer sees the file
    expect(peek(task.mm, p + PS, 4)).toBe('BBBB');
    const st = task.mm.vmStats();
    expect(st.rssAnon).toBe(1);
    expect(st.rssFile).toBe(1);
  });

  it('truncation unmaps pages beyond EOF: the next access is SIGBUS; the tail page is zeroed', () => {
    const { task } = boot();
    const f = open(task, '/tmp/trunc');
    f.pwrite(new Uint8Array(3 * PS).fill(0x41), 0);
    const a = task.mm.mmapRegion(0, 3 * PS, RW, MAP_SHARED, f, 0);
    const p = task.mm.mmapRegion(0, 3 * PS, RW, MAP_PRIVATE, f, 0);
    poke(task.mm, a + 2 * PS, 'x');
    poke(task.mm, p + 2 * PS, 'y'); // a private COW copy beyond the future EOF
    const inode = f.inode as RamfsInode;
    expect(inode.op.setattr!(inode, { valid: ATTR_SIZE, size: PS + 10 })).toBe(0);
    expect(task.mm.pt.lookupFlags(a + 2 * PS)).toBeLessThan(0);
    expect(task.mm.pt.lookupFlags(p + 2 * PS)).toBeLessThan(0);
    expect(task.mm.handleFault(a + 2 * PS, 0)).toBe(FAULT_SIGBUS);
    expect(task.mm.handleFault(p + 2 * PS, 1)).toBe(FAULT_SIGBUS);
    expect(peek(task.mm, a + PS + 9, 1)).toBe('A');
    expect(peek(task.mm, a + PS + 10, 1)).toBe('\0'); // zeroed tail of the last page
    expect(inode.mapping.indices()).toEqual([0, 1]);
  });

  it('frees the frames of an unlinked file when its last user goes', () => {
    const { kernel, task } = boot();
    const f = open(task, '/tmp/gone');
    f.pwrite(new Uint8Array(4 * PS).fill(1), 0);
    const a = task.mm.mmapRegion(0, 4 * PS, RW, MAP_SHARED, f, 0);
    for (let i = 0; i < 4; i++) expect(task.mm.handleFault(a + i * PS, 0)).toBe(0);
    const free0 = kernel.pageAlloc.nrFree();
    const dir = f.path.dentry.parent!.inode as RamfsInode;
    expect(dir.op.unlink!(dir, 'gone')).toBe(0);
    f.put(); // close: the mapping still holds the file
    expect((f.inode as RamfsInode).mapping.nrpages).toBe(4);
    expect(task.mm.unmapRegion(a, 4 * PS)).toBe(0);
    expect((f.inode as RamfsInode).mapping.nrpages).toBe(0);
    expect(kernel.pageAlloc.nrFree()).toBeGreaterThanOrEqual(free0 + 4);
  });
});

describe('shared anonymous memory', () => {
  it('is shared with a forked mm for pages first touched after the fork', () => {
    const { kernel, task } = boot();
    const s = task.mm.mmapRegion(0, 4 * PS, RW, MAP_SHARED | MAP_ANONYMOUS, null, 0);
    poke(task.mm, s, 'before');
    const child = task.mm.dup();
    if (typeof child === 'number') throw new Error('dup failed');
    poke(child, s + 3 * PS, 'child wrote');
    expect(peek(task.mm, s + 3 * PS, 11)).toBe('child wrote');
    poke(task.mm, s + PS, 'parent');
    expect(peek(child, s + PS, 6)).toBe('parent');
    expect(peek(child, s, 6)).toBe('before');
    const pfn = task.mm.pt.translate(s + PS) / PS;
    expect(child.pt.translate(s + PS)).toBe(pfn * PS);
    expect(kernel.pageAlloc.pageKind[pfn]).toBe(PAGE_KIND_SHMEM);
    expect(task.mm.vmStats().rssShmem).toBe(3);
    // MADV_REMOVE punches a hole in the shmem object: every mapping reads zeros there.
    expect(doMadvise(child, s + PS, PS, MADV_REMOVE)).toBe(0);
    expect(task.mm.vmStats().rssShmem).toBe(2);
    expect(peek(task.mm, s + PS, 6)).toBe('\0'.repeat(6));
    poke(task.mm, s + PS, 'parent');
    // Private anonymous memory stays copy-on-write.
    const priv = task.mm.mmapRegion(0, PS, RW, MAP_PRIVATE | MAP_ANONYMOUS, null, 0);
    poke(task.mm, priv, 'mine');
    const child2 = task.mm.dup();
    if (typeof child2 === 'number') throw new Error('dup failed');
    poke(child2, priv, 'kid');
    expect(peek(task.mm, priv, 4)).toBe('mine');
    // Freed when the last mapping goes.
    const free0 = kernel.pageAlloc.nrFree();
    child.destroy();
    child2.destroy();
    task.mm.unmapRegion(s, 4 * PS);
    expect(kernel.pageAlloc.nrFree()).toBeGreaterThan(free0 + 3);
  });
});

describe('shared anonymous memory moved by mremap', () => {
  it('keeps the shmem object (and its pages) when the only VMA moves', () => {
    const { task } = boot();
    const s = task.mm.mmapRegion(0, 2 * PS, RW, MAP_SHARED | MAP_ANONYMOUS, null, 0);
    poke(task.mm, s, 'moved');
    // A neighbour right after it, so growing has to move the mapping.
    expect(task.mm.mmapRegion(s + 2 * PS, PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, null, 0)).toBe(
      s + 2 * PS,
    );
    const t = doMremap(task.mm, s, 2 * PS, 3 * PS, MREMAP_MAYMOVE, 0);
    expect(t).toBeGreaterThan(0);
    expect(t).not.toBe(s);
    const vma = task.mm.vmaLookup(t)!;
    const mapping = mappingOf(vma.file)!;
    expect(mapping.findPage(0)?.pfn).toBe(task.mm.pt.translate(t) / PS);
    const child = task.mm.dup();
    if (typeof child === 'number') throw new Error('dup');
    poke(child, t + PS, 'late page');
    expect(peek(task.mm, t + PS, 9)).toBe('late page');
    expect(peek(child, t, 5)).toBe('moved');
  });
});

describe('SysV shm', () => {
  it('creates, attaches, shares, counts attaches across fork, and destroys after RMID + last detach', () => {
    const { kernel, task } = boot();
    const id = doShmget(task, IPC_PRIVATE, 10000, IPC_CREAT | 0o600);
    expect(id).toBeGreaterThanOrEqual(0);
    const a = doShmat(task, id, 0, 0);
    const b = doShmat(task, id, 0, 0);
    expect(a).toBeGreaterThan(0);
    poke(task.mm, a + 8192, 'shm!');
    expect(peek(task.mm, b + 8192, 4)).toBe('shm!');
    const buf = task.mm.mmapRegion(0, PS, RW, MAP_PRIVATE | MAP_ANONYMOUS, null, 0);
    const nattch = (): number => {
      expect(doShmctl(task, id, IPC_STAT, buf)).toBe(0);
      const ds = copyFromUser(task.mm, buf, 112) as Uint8Array;
      const dv = new DataView(ds.buffer, ds.byteOffset);
      expect(dv.getUint32(48, true)).toBe(10000); // shm_segsz
      return dv.getUint32(88, true);
    };
    expect(nattch()).toBe(2);
    const child = newTask(kernel, 2);
    const cmm = task.mm.dup();
    if (typeof cmm === 'number') throw new Error('dup');
    child.mm.destroy();
    child.mm = cmm;
    expect(nattch()).toBe(4);
    poke(cmm, a, 'from child');
    expect(peek(task.mm, b, 10)).toBe('from child');
    cmm.destroy(); // exit
    expect(nattch()).toBe(2);
    expect(doShmctl(task, id, IPC_RMID, 0)).toBe(0);
    expect(nattch()).toBe(2);
    expect(doShmdt(task, a)).toBe(0);
    expect(doShmdt(task, a)).toBe(-EINVAL);
    expect(nattch()).toBe(1);
    expect(shmNamespace(task).segs.size).toBe(1);
    expect(doShmdt(task, b)).toBe(0);
    expect(doShmctl(task, id, IPC_STAT, buf)).toBe(-EINVAL);
    expect(shmNamespace(task).segs.size).toBe(0);
    expect(shmNamespace(task).shmTot).toBe(0);
  });

  it('keys: IPC_CREAT|IPC_EXCL, ENOENT, size check; SHM_INFO counts', () => {
    const { task } = boot();
    expect(doShmget(task, 1234, PS, 0)).toBe(-ENOENT);
    const id = doShmget(task, 1234, PS, IPC_CREAT | 0o644);
    expect(doShmget(task, 1234, PS, 0)).toBe(id);
    expect(doShmget(task, 1234, PS, IPC_CREAT | IPC_EXCL)).toBe(-EEXIST);
    expect(doShmget(task, 1234, 2 * PS, 0)).toBe(-EINVAL);
    const buf = task.mm.mmapRegion(0, PS, RW, MAP_PRIVATE | MAP_ANONYMOUS, null, 0);
    expect(doShmctl(task, 0, SHM_INFO, buf)).toBe(id % 32768);
    const info = copyFromUser(task.mm, buf, 48) as Uint8Array;
    expect(new DataView(info.buffer, info.byteOffset).getInt32(0, true)).toBe(1);
    expect(doShmctl(task, id, IPC_RMID, 0)).toBe(0);
    expect(doShmget(task, 1234, PS, 0)).toBe(-ENOENT);
  });
});

describe('OOM killer', () => {
  it('chooses the process with the most memory, kills it with SIGKILL and reaps its private pages', () => {
    const { kernel, task } = boot(8);
    const big = newTask(kernel, 2);
    const small = newTask(kernel, 3);
    const fill = (t: Task, pages: number): number => {
      const a = t.mm.mmapRegion(0, pages * PS, RW, MAP_PRIVATE | MAP_ANONYMOUS, null, 0);
      for (let i = 0; i < pages; i++) expect(t.mm.handleFault(a + i * PS, 1)).toBe(0);
      return a;
    };
    fill(task, 10);
    fill(big, 300);
    fill(small, 50);
    big.state = TaskState.INTERRUPTIBLE;
    const sel = selectBadProcess(kernel);
    expect(sel?.victim).toBe(big);
    const before = kernel.pageAlloc.nrFree();
    const logs: string[] = [];
    const log = kernel.log.bind(kernel);
    kernel.log = (m: string) => {
      logs.push(m);
      log(m);
    };
    expect(oomKill(kernel, small)).toBe(true);
    expect(kernel.pageAlloc.nrFree()).toBeGreaterThanOrEqual(before + 300);
    expect(
      logs.some((l) =>
        /^Out of memory: Killed process 2 \(t2\) total-vm:\d+kB, anon-rss:\d+kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:\d+kB oom_score_adj:0$/.test(
          l,
        ),
      ),
    ).toBe(true);
    // SIGKILL to another process: it is dead at once (or has SIGKILL pending), its memory reaped.
    const dying =
      (big.state as TaskState) === TaskState.ZOMBIE ||
      (big.state as TaskState) === TaskState.DEAD ||
      (big.signal.sharedPending & (1n << 8n)) !== 0n;
    expect(dying).toBe(true);
    expect(big.mm.oomReaped).toBe(true);
    expect(big.mm.handleFault(0x10000, 0)).not.toBe(0);
    // The reaped victim is not chosen again; the faulting victim just retries into its death.
    expect(selectBadProcess(kernel)?.victim).toBe(small);
    expect(oomKill(kernel, big)).toBe(true);
  });

  it('kills the faulting process when an anonymous hog exhausts RAM', () => {
    const { kernel, task } = boot(4);
    const hog = newTask(kernel, 2);
    const a = hog.mm.mmapRegion(0, 8 << 20, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, null, 0);
    let r = 0;
    let i = 0;
    for (; i < 2048 && r === 0; i++) r = hog.mm.handleFault(a + i * PS, 1);
    expect(r).toBeLessThan(0);
    expect(oomKill(kernel, hog)).toBe(true);
    expect(selectBadProcess(kernel)?.victim).toBe(task); // only init is left
    expect(hog.mm.rss).toBeLessThan(5);
  });
});
