// The busybox shell suite (issue 3): `busybox sh -c SCRIPT` under labvisor exec = under qemu-riscv64-static.
// The cases live in busybox-sh-cases.ts. Here: every case's qemu oracle check (the case says what Linux does), and
// the labvisor comparison of the cases that pass on labvisor today. The others are compared in
// tests/kernel-wip/busybox-sh.wip.ts (not collected; `npm run test:wip`) until the kernel pieces they need land;
// move a name from there to PASSING_ON_LABVISOR (busybox-sh-cases.ts) when it passes.
import { describe } from 'vitest';
import {
  casesNamed,
  defineShellComparisons,
  defineShellOracleChecks,
  PASSING_ON_LABVISOR,
  SHELL_CASES,
} from './busybox-sh-cases.js';

describe('busybox sh: the qemu oracle does what each case says', () => {
  defineShellOracleChecks(SHELL_CASES);
});

describe('busybox sh: labvisor exec = qemu-riscv64-static', () => {
  defineShellComparisons(casesNamed(PASSING_ON_LABVISOR));
});
