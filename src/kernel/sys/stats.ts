/**
 * The machine's figures for the host (the server's GET /v1/vms/{id}/stats), gathered from the
 * same counters procfs shows — /proc/meminfo (memCounts), /proc/loadavg (calc_global_load),
 * /proc/stat's process counts, /proc/diskstats (the GenDisks' part_stat) — plus the hart's
 * instret and the run loop's busy time. And the host's pause: the run loop stops at its next
 * yield point until the host resumes (a paused VM: no guest instruction runs; the clocks keep
 * going like a VM's wall clock, so timers that expire meanwhile are seen expired on resume).
 */
import type { Kernel } from '../kernel.js';
import { live, memCounts } from '../fs/proc/generic.js';
import { calcGlobalLoad, FIXED_1 } from '../fs/proc/loadavg.js';

const PAGE_KB = 4;
/** Busy-time samples kept for the instruction rate (one per run-loop yield, ≥ 15 ms of busy time apart). */
const RATE_SAMPLES = 128;
/** The rate is taken over this much of the most recent busy time. */
const RATE_WINDOW_NS = 1e9;

export interface MachineStats {
  uptimeSeconds: number;
  cpuSeconds: number;
  instructions: number;
  mips: number;
  memory: { totalKiB: number; freeKiB: number; usedKiB: number; cachedKiB: number };
  processes: { total: number; running: number };
  loadavg: [number, number, number];
  disk: { readOps: number; readBytes: number; writeOps: number; writeBytes: number };
}

/** A ring of (wall ms, busy ns, instret) samples, for instructions per µs of busy time. */
class RateRing {
  private readonly buf = new Float64Array(RATE_SAMPLES * 3);
  private next = 0;
  private count = 0;

  push(wallMs: number, busyNs: number, instret: number): void {
    const i = this.next * 3;
    this.buf[i] = wallMs;
    this.buf[i + 1] = busyNs;
    this.buf[i + 2] = instret;
    this.next = (this.next + 1) % RATE_SAMPLES;
    if (this.count < RATE_SAMPLES) this.count++;
  }

  /**
   * Instructions per µs over the last RATE_WINDOW_NS of busy time ending at (busyNs, instret);
   * 0 when the machine did (almost) nothing in the last wall-clock second.
   */
  rate(wallMs: number, busyNs: number, instret: number): number {
    // Samples come only from busy stretches (the run loop yields after 15 ms of guest code): none
    // in the last wall-clock second means the machine idled (short bursts do not count).
    if (this.count === 0 || this.lastWall() < wallMs - 1000) return 0;
    let oldBusy = busyNs;
    let oldInsn = instret;
    for (let k = 1; k <= this.count; k++) {
      const i = ((this.next - k + RATE_SAMPLES) % RATE_SAMPLES) * 3;
      oldBusy = this.buf[i + 1]!;
      oldInsn = this.buf[i + 2]!;
      if (busyNs - oldBusy >= RATE_WINDOW_NS) break;
    }
    const dBusy = busyNs - oldBusy;
    return dBusy > 0 ? (instret - oldInsn) / (dBusy / 1000) : 0;
  }

  private lastWall(): number {
    if (this.count === 0) return -Infinity;
    return this.buf[((this.next - 1 + RATE_SAMPLES) % RATE_SAMPLES) * 3]!;
  }
}

const rings = new WeakMap<Kernel, RateRing>();
const resumers = new WeakMap<Kernel, () => void>();

/** The run loop's hook at each yield to the host: one sample of busy time and instructions. */
export function sampleBusy(kernel: Kernel, wallMs: number): void {
  let r = rings.get(kernel);
  if (!r) rings.set(kernel, (r = new RateRing()));
  r.push(wallMs, kernel.cpuNsTotal, kernel.hart.instret);
}

/** Stop running guest code at the run loop's next yield point (idempotent). */
export function pauseMachine(kernel: Kernel): void {
  if (kernel.pauseGate) return;
  kernel.pauseGate = new Promise<void>((resolve) => resumers.set(kernel, resolve));
}

/** Let the run loop go on (idempotent). */
export function resumeMachine(kernel: Kernel): void {
  const r = resumers.get(kernel);
  resumers.delete(kernel);
  kernel.pauseGate = null;
  r?.();
}

/** The machine's figures now. */
export function machineStats(kernel: Kernel): MachineStats {
  const now = performance.now();
  const l = live(kernel);
  const m = memCounts(kernel);
  const avenrun = calcGlobalLoad(kernel).avenrun;
  const disk = { readOps: 0, readBytes: 0, writeOps: 0, writeBytes: 0 };
  for (const d of kernel.disks) {
    disk.readOps += d.stats.reads;
    disk.readBytes += d.stats.readSectors * 512;
    disk.writeOps += d.stats.writes;
    disk.writeBytes += d.stats.writeSectors * 512;
  }
  const instret = kernel.hart.instret;
  const ring = rings.get(kernel);
  const mips = ring ? ring.rate(now, kernel.cpuNsTotal, instret) : 0;
  // As /proc/meminfo: used = total - free - cached (buffers are part of cached here).
  const totalKiB = m.totalPages * PAGE_KB;
  const freeKiB = m.freePages * PAGE_KB;
  const cachedKiB = m.cachedPages * PAGE_KB;
  const load = (x: number): number => Math.round((x / FIXED_1) * 100) / 100;
  return {
    uptimeSeconds: kernel.clock.monotonicNs() / 1e9,
    cpuSeconds: kernel.cpuNsTotal / 1e9,
    instructions: instret,
    mips: Math.round(mips * 100) / 100,
    memory: { totalKiB, freeKiB, usedKiB: Math.max(0, totalKiB - freeKiB - cachedKiB), cachedKiB },
    processes: { total: l.total, running: l.running },
    loadavg: [load(avenrun[0]!), load(avenrun[1]!), load(avenrun[2]!)],
    disk,
  };
}
