// Registers "same as qemu" tests: each case runs a riscv64 program under qemu-riscv64-static (the oracle, Linux's
// behaviour) and under `labvisor exec`, and asserts identical stdout and exit status (and stderr where asked).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import {
  firstDifference,
  labvisorAvailable,
  LABVISOR_CLI,
  runLabvisor,
  runQemu,
  ROOT,
  type GuestRun,
  type RunResult,
} from './run.js';

export interface OracleCase extends GuestRun {
  /** Test name; defaults to the program's base name and its arguments. */
  name?: string;
  /** Path of the riscv64 program, relative to the repository root (both runs use the same path as argv[0]). */
  prog: string;
  args?: string[];
  /** Compare stderr too (default true; turn off where the message is the emulator's own, e.g. fatal signals). */
  compareStderr?: boolean;
  /**
   * Extra attempts for a program that measures wall-clock time (sleep accuracy): the host's own
   * scheduling can delay any emulator's timers now and then. Each attempt runs qemu and labvisor afresh.
   */
  retry?: number;
  /** Facts about qemu's run that make the oracle itself trustworthy (checked even without labvisor). */
  expectQemu?: {
    status?: number;
    stdout?: string | Buffer;
    stdoutIncludes?: string[];
  };
}

const TEXT_LIMIT = 64 * 1024;

function describeRun(r: RunResult): string {
  const tail = r.stderr.subarray(Math.max(0, r.stderr.length - 2000)).toString('latin1');
  return `status ${r.status}${r.signal ? ` (${r.signal})` : ''}${r.timedOut ? ' TIMED OUT' : ''}, stderr: ${tail}`;
}

/** Compare two byte streams with a readable message: a text diff when small, else lengths and first difference. */
export function expectSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  if (actual.length <= TEXT_LIMIT && expected.length <= TEXT_LIMIT) {
    expect(actual.toString('latin1'), what).toBe(expected.toString('latin1'));
  }
  expect.fail(`${what} differs: ${firstDifference(actual, expected)}`);
}

function caseName(c: OracleCase): string {
  if (c.name) return c.name;
  const base = c.prog.split('/').pop()!;
  return [base, ...(c.args ?? []).map((a) => (/^[\w./=:-]+$/.test(a) ? a : JSON.stringify(a)))].join(' ');
}

/** Register two tests per case: the oracle sanity check and the labvisor-vs-qemu comparison. */
export function defineOracleCases(cases: readonly OracleCase[]): void {
  for (const c of cases) {
    const name = caseName(c);
    let qemuRun: Promise<RunResult> | undefined;
    const oracle = () => (qemuRun ??= runQemu(c.prog, c.args ?? [], { cwd: ROOT, ...c }));
    const built = () => {
      if (!existsSync(join(ROOT, c.prog)))
        expect.fail(`${c.prog} was not built: run npm run guest and read its errors`);
    };

    if (c.expectQemu) {
      const want = c.expectQemu;
      it(`${name} [qemu oracle]`, async () => {
        built();
        const q = await oracle();
        expect(q.timedOut, 'qemu timed out').toBe(false);
        if (want.status !== undefined) expect(q.status, describeRun(q)).toBe(want.status);
        if (want.stdout !== undefined) expectSameBytes(q.stdout, Buffer.from(want.stdout), 'qemu stdout');
        for (const s of want.stdoutIncludes ?? []) expect(q.stdout.toString('latin1')).toContain(s);
      });
    }

    it(`${name} [labvisor = qemu]`, { retry: c.retry ?? 0 }, async () => {
      built();
      if (!labvisorAvailable()) expect.fail(`${LABVISOR_CLI} is missing: labvisor exec cannot be compared with qemu`);
      const qemu = c.retry ? runQemu(c.prog, c.args ?? [], { cwd: ROOT, ...c }) : oracle();
      const [q, l] = await Promise.all([qemu, runLabvisor(c.prog, c.args ?? [], { cwd: ROOT, ...c })]);
      expect(q.timedOut, 'qemu timed out').toBe(false);
      expect(l.timedOut, `labvisor timed out; ${describeRun(l)}`).toBe(false);
      expectSameBytes(l.stdout, q.stdout, `stdout (labvisor ${describeRun(l)})`);
      expect(l.status, `exit status: labvisor ${describeRun(l)}; qemu ${describeRun(q)}`).toBe(q.status);
      if (c.compareStderr !== false) expectSameBytes(l.stderr, q.stderr, 'stderr');
    });
  }
}
