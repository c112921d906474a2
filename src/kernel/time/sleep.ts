/**
 * The host timer behind every guest sleep (the hrtimer the sleeping task waits on). setTimeout
 * holds at most 2^31 - 1 ms, so longer sleeps are chained.
 */
const MAX_TIMEOUT_MS = 0x7fffffff;

export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const end = performance.now() + ms;
    const step = (): void => {
      const left = end - performance.now();
      if (left <= 0) resolve();
      else setTimeout(step, Math.min(Math.ceil(left), MAX_TIMEOUT_MS));
    };
    step();
  });
}
