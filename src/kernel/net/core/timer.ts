/**
 * Network timers (kernel/time/timer.c timer_list, as the stack uses mod_timer/del_timer):
 * every timer of one network namespace is kept in one list ordered by expiry, behind a single
 * host setTimeout for the earliest. Idle costs one pending host timeout at most, and
 * `shutdown()` cancels everything when the machine stops (so a worker never lingers on a
 * TIME_WAIT timer).
 */

export class Timer {
  /** Absolute expiry, monotonic ns; -1 while not pending. */
  expiresNs = -1;
  constructor(public fn: () => void) {}
  get pending(): boolean {
    return this.expiresNs >= 0;
  }
}

/** setTimeout keeps at most 2^31 - 1 ms. */
const MAX_TIMEOUT_MS = 0x7fffffff;

export class TimerList {
  private readonly timers = new Set<Timer>();
  private handle: ReturnType<typeof setTimeout> | null = null;
  private armedFor = Infinity;
  private dead = false;
  private running = false;

  constructor(private readonly nowNs: () => number) {}

  /** mod_timer: (re)arm `t` to fire at `expiresNs` (absolute monotonic ns). */
  mod(t: Timer, expiresNs: number): void {
    if (this.dead) return;
    t.expiresNs = Math.max(0, expiresNs);
    this.timers.add(t);
    if (!this.running && t.expiresNs < this.armedFor) this.arm(t.expiresNs);
  }

  /** mod_timer relative to now. */
  modIn(t: Timer, delayNs: number): void {
    this.mod(t, this.nowNs() + delayNs);
  }

  /** del_timer: returns whether it was pending. */
  del(t: Timer): boolean {
    const was = t.pending;
    t.expiresNs = -1;
    this.timers.delete(t);
    return was;
  }

  /** Cancel everything for good (the namespace is going away). */
  shutdown(): void {
    this.dead = true;
    for (const t of this.timers) t.expiresNs = -1;
    this.timers.clear();
    if (this.handle) clearTimeout(this.handle);
    this.handle = null;
  }

  get size(): number {
    return this.timers.size;
  }

  private arm(atNs: number): void {
    if (this.handle) clearTimeout(this.handle);
    this.armedFor = atNs;
    const ms = Math.min(MAX_TIMEOUT_MS, Math.max(0, Math.ceil((atNs - this.nowNs()) / 1e6)));
    this.handle = setTimeout(() => this.run(), ms);
  }

  /** run_timers: fire everything that is due, then arm for the next. */
  private run(): void {
    this.handle = null;
    this.armedFor = Infinity;
    this.running = true;
    try {
      // Fire in expiry order; a callback may re-arm its own or other timers.
      for (let guard = 0; guard < 100000; guard++) {
        const now = this.nowNs();
        let next: Timer | null = null;
        for (const t of this.timers) if (!next || t.expiresNs < next.expiresNs) next = t;
        if (!next || next.expiresNs > now) break;
        this.timers.delete(next);
        next.expiresNs = -1;
        next.fn();
      }
    } finally {
      this.running = false;
    }
    if (this.dead) return;
    let first = Infinity;
    for (const t of this.timers) if (t.expiresNs < first) first = t.expiresNs;
    if (first !== Infinity) this.arm(first);
  }
}
