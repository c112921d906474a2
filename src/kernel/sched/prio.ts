/**
 * Scheduling policies, priorities and the nice → weight tables (include/uapi/linux/sched.h,
 * include/linux/sched/prio.h, kernel/sched/core.c sched_prio_to_weight / sched_prio_to_wmult).
 */

export const SCHED_NORMAL = 0;
export const SCHED_FIFO = 1;
export const SCHED_RR = 2;
export const SCHED_BATCH = 3;
export const SCHED_IDLE = 5;
export const SCHED_DEADLINE = 6;
/** Or'ed into the policy of sched_setscheduler: children get SCHED_NORMAL/nice 0 back. */
export const SCHED_RESET_ON_FORK = 0x40000000;

export const MIN_NICE = -20;
export const MAX_NICE = 19;
export const MAX_RT_PRIO = 100;
export const DEFAULT_PRIO = 120;

/** NICE_0_LOAD (scale_load_down'ed, as the 32-bit table is). */
export const NICE_0_LOAD = 1024;
/** WEIGHT_IDLEPRIO: SCHED_IDLE tasks weigh 3. */
export const WEIGHT_IDLEPRIO = 3;

/**
 * sched_prio_to_weight[]: nice -20..19. Each step is ~1.25×, so one nice level is ~10% of
 * CPU between two competing tasks.
 */
// prettier-ignore
export const SCHED_PRIO_TO_WEIGHT: readonly number[] = [
  /* -20 */ 88761, 71755, 56483, 46273, 36291,
  /* -15 */ 29154, 23254, 18705, 14949, 11916,
  /* -10 */ 9548, 7620, 6100, 4904, 3906,
  /*  -5 */ 3121, 2501, 1991, 1586, 1277,
  /*   0 */ 1024, 820, 655, 526, 423,
  /*   5 */ 335, 272, 215, 172, 137,
  /*  10 */ 110, 87, 70, 56, 45,
  /*  15 */ 36, 29, 23, 18, 15,
];

export function niceToWeight(nice: number): number {
  return SCHED_PRIO_TO_WEIGHT[Math.max(MIN_NICE, Math.min(MAX_NICE, nice)) - MIN_NICE]!;
}

export function rtPolicy(policy: number): boolean {
  return policy === SCHED_FIFO || policy === SCHED_RR;
}

export function validPolicy(policy: number): boolean {
  return (
    policy === SCHED_NORMAL ||
    policy === SCHED_FIFO ||
    policy === SCHED_RR ||
    policy === SCHED_BATCH ||
    policy === SCHED_IDLE
  );
}
