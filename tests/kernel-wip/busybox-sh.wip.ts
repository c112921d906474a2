// NOT collected by `npm test` (vitest includes tests/**/*.test.ts only). Run with `npm run test:wip`.
// The busybox shell cases that do not pass on labvisor yet: the labvisor-vs-qemu comparison of every case in
// tests/kernel/busybox-sh-cases.ts that is not in PASSING_ON_LABVISOR (busybox-sh-cases.ts).
// Waits for (issue 3): fork/clone + wait4 (src/kernel/sched), pipe2 (src/kernel/fs/pipe.ts), signal handlers and
// rt_sigreturn (src/kernel/signal), nanosleep/clock_nanosleep for `sleep` (src/kernel/time). Once a case passes
// here, move its name into PASSING_ON_LABVISOR; this file then picks up only what is still failing.
// As of 2026-11-25 20:15 UTC every case passes on labvisor, so this holds nothing (one todo); a new case starts here.
import { describe, it } from 'vitest';
import { defineShellComparisons, PASSING_ON_LABVISOR, SHELL_CASES } from '../kernel/busybox-sh-cases.js';

describe('busybox sh (wip): labvisor exec = qemu-riscv64-static', () => {
  const rest = SHELL_CASES.filter((c) => !PASSING_ON_LABVISOR.includes(c.name));
  if (rest.length === 0) it.todo('every shell case passes on labvisor: nothing is left here');
  defineShellComparisons(rest);
});
