/**
 * The idle class (kernel/sched/idle.c): what runs when nothing else can. On real hardware the
 * idle task executes wfi until an interrupt; here the run loop awaits a Promise that the next
 * wake-up resolves, so an idle machine uses no host CPU at all.
 */
export class IdleWait {
  private wake: (() => void) | null = null;

  /** do_idle(): resolve at the next wakeUp() (or at once if `ready` says work already exists). */
  wait(ready: boolean): Promise<void> {
    if (ready) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  /** The "interrupt": end the idle wait. */
  wakeUp(): void {
    const w = this.wake;
    if (w) {
      this.wake = null;
      w();
    }
  }
}
