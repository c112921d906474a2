/**
 * The OOM killer (mm/oom_kill.c): when a fault finds no free frame, choose the process whose
 * death frees the most memory (oom_badness), say so in the kernel log as Linux does, kill it
 * with SIGKILL, and reap its private memory at once (the oom_reaper's __oom_reap_task_mm) so
 * the faulting task can retry the access. If the faulting task is itself the victim, it dies
 * of the SIGKILL before it runs again.
 *
 * A reaped mm is marked (`mm.oomReaped`, Linux's MMF_OOM_SKIP): it is not chosen again, and its
 * faults get no frames (they return -ENOMEM, and `oomKill` answers "retry" without a new kill),
 * so a victim cannot refill what was reaped in the instants before its SIGKILL is acted on.
 *
 * Caller (the page-fault path, sched/core.ts), on `mm.handleFault` < 0:
 *     if (!oomKill(kernel, task)) forceSigFault(task, SIGKILL, { code: 0, addr: va });
 *     return; // retry the access (or die of the pending SIGKILL)
 */
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched/task.js';
import { TaskState } from '../sched/task.js';
import type { MmStruct } from './mm_struct.js';
import { PAGE_SIZE } from './layout.js';
import { VM_SHARED } from './mman.js';
import { sendSignal } from '../signal/signal.js';
import { SIGKILL } from '../signal/signum.js';

/** OOM_SCORE_ADJ_MIN: a process with this adjustment is never chosen. */
export const OOM_SCORE_ADJ_MIN = -1000;
export const OOM_SCORE_ADJ_MAX = 1000;

/** signal->oom_score_adj (written through /proc/<pid>/oom_score_adj). */
export function oomScoreAdjOf(task: Task): number {
  return task.signal.oomScoreAdj;
}

function alive(t: Task): boolean {
  return t.state !== TaskState.ZOMBIE && t.state !== TaskState.DEAD;
}

/**
 * oom_badness(): rss + swap entries (none: there is no swap) + page-table pages, plus
 * oom_score_adj thousandths of all RAM. null when the task must not be chosen.
 */
export function oomBadness(task: Task, totalPages: number): number | null {
  const mm = task.mm;
  if (!mm || mm.destroyed || mm.oomReaped) return null;
  const adj = oomScoreAdjOf(task);
  if (adj === OOM_SCORE_ADJ_MIN) return null;
  let points = mm.rss + mm.pt.tablePages();
  points += Math.trunc((adj * totalPages) / 1000);
  return points > 0 ? points : 1;
}

/**
 * select_bad_process(): the thread-group leader with the highest badness (a later one wins a
 * tie, as oom_evaluate_task's `<` comparison). init (pid 1) is chosen only when nothing else can
 * be (Linux never kills it and panics instead; a machine with init as its only process — a
 * `labvisor exec` of a program that forks nothing — is better served by killing it).
 */
export function selectBadProcess(kernel: Kernel): { victim: Task; points: number } | null {
  const total = kernel.pageAlloc.managedPages;
  let best: Task | null = null;
  let bestPoints = 0;
  let init: Task | null = null;
  let initPoints = 0;
  for (const t of kernel.tasks.values()) {
    if (t.pid !== t.tgid || !alive(t)) continue;
    const p = oomBadness(t, total);
    if (p === null) continue;
    if (t.pid === 1) {
      init = t;
      initPoints = p;
      continue;
    }
    if (p < bestPoints) continue;
    best = t;
    bestPoints = p;
  }
  if (best) return { victim: best, points: bestPoints };
  return init ? { victim: init, points: initPoints } : null;
}

const K = (pages: number): number => pages * (PAGE_SIZE / 1024);

/** __oom_reap_task_mm(): zap every private mapping's pages now (shared pages stay for their other users). */
export function oomReap(mm: MmStruct): void {
  mm.oomReaped = true;
  if (mm.destroyed) return;
  for (const vma of [...mm.vmas]) {
    if ((vma.flags & VM_SHARED) === 0) mm.zapRange(vma.start, vma.end);
  }
}

/**
 * out_of_memory(): kill the worst process. Returns true when the faulting task should simply
 * retry (a victim was killed and its memory reaped, or `faulting` is already a victim that is
 * about to die), false when nothing could be killed.
 */
export function oomKill(kernel: Kernel, faulting?: Task | null): boolean {
  if (faulting?.mm?.oomReaped) return true;
  const sel = selectBadProcess(kernel);
  if (!sel) {
    kernel.log('Out of memory and no killable processes...');
    return false;
  }
  const { victim } = sel;
  const mm = victim.mm;
  const who = faulting ?? kernel.current;
  if (who) {
    kernel.log(
      `${who.comm} invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO), order=0, oom_score_adj=${oomScoreAdjOf(who)}`,
    );
  }
  const stats = mm.vmStats();
  kernel.log(
    `oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=${victim.comm},pid=${victim.tgid},uid=${victim.cred.uid}`,
  );
  kernel.log(
    `Out of memory: Killed process ${victim.tgid} (${victim.comm}) total-vm:${K(stats.total)}kB, ` +
      `anon-rss:${K(stats.rssAnon)}kB, file-rss:${K(stats.rssFile)}kB, shmem-rss:${K(stats.rssShmem)}kB, ` +
      `UID:${victim.cred.uid} pgtables:${K(stats.pgtables)}kB oom_score_adj:${oomScoreAdjOf(victim)}`,
  );
  // __oom_kill_process: SIGKILL the victim and every other process sharing its mm.
  for (const t of kernel.tasks.values()) {
    if (t.mm === mm && t.pid === t.tgid && alive(t)) sendSignal(t, SIGKILL, true);
  }
  oomReap(mm);
  const after = mm.vmStats();
  kernel.log(
    `oom_reaper: reaped process ${victim.tgid} (${victim.comm}), now anon-rss:${K(after.rssAnon)}kB, ` +
      `file-rss:${K(after.rssFile)}kB, shmem-rss:${K(after.rssShmem)}kB`,
  );
  return true;
}
