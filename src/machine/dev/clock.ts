/**
 * The machine's clock device: host monotonic and real time. The hart's `rdtime` counts
 * in units of TIMEBASE_HZ, as the `timebase-frequency` of QEMU's virt board (10 MHz).
 */
export const TIMEBASE_HZ = 10_000_000;

export class Clock {
  private readonly bootPerf = performance.now();
  private readonly bootRealMs = Date.now();

  /** Nanoseconds since the machine booted (CLOCK_MONOTONIC), as a double (exact to ~104 days at ns). */
  monotonicNs(): number {
    return Math.round((performance.now() - this.bootPerf) * 1e6);
  }

  /** Nanoseconds since the Unix epoch (CLOCK_REALTIME), as a double (µs precision). */
  realtimeNs(): number {
    return (this.bootRealMs + (performance.now() - this.bootPerf)) * 1e6;
  }

  /** The value `rdtime` reads: ticks of TIMEBASE_HZ since boot. */
  ticks(): number {
    return Math.floor((performance.now() - this.bootPerf) * (TIMEBASE_HZ / 1000));
  }
}
