// npm run bench:proc — process, pipe and scheduler costs on labvisor exec next to qemu-riscv64-static, same guest
// binaries, same run:
//   fork+exec+wait  bench/guest/bench_fork_exec.c: fork → execve(busybox, "true") → waitpid, per second
//   pipe            bench/guest/bench_pipe.c: a child writes 64 KiB chunks into a pipe, the parent reads; MB/s
//   ctxsw           bench/guest/bench_ctxsw.c: two processes ping-pong a byte over two pipes; switches per second
// Each guest program stops after a fixed count or SECONDS of its own clock, whichever comes first, and prints
// `rate=<n>` last. A labvisor run that fails, times out or prints no rate shows 'n/a (reason)' instead of a
// number; the benchmark never crashes because the guest kernel cannot do something yet.
//
// Under qemu the busybox that bench_fork_exec execs is build/guest/qemu-applets/true, a `#!qemu busybox` launcher
// (tests/kernel/qemu-applets.ts): qemu-user cannot execve a riscv64 binary without binfmt_misc, and the launcher is
// what binfmt_misc would do — the host kernel starts a fresh qemu for the exec'd program. Under labvisor the guest
// sees only its main program at its host path, so labvisor runs with `-L build/guest` and execs /busybox (the
// read-only view of the -L directory under /).
// Options: --only NAME (fork-exec|pipe|ctxsw), --seconds S (guest time limit per run, default 4),
// --qemu-runs N (best of N for qemu, default 1).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { qemuAppletDir } from '../tests/kernel/qemu-applets.js';
import {
  GUEST_DIR,
  labvisorAvailable,
  LABVISOR_CLI,
  ROOT,
  runLabvisor,
  runQemu,
  type RunResult,
} from '../tests/kernel/run.js';
import { ensureGuestBuilt } from '../tests/setup/guest-binaries.js';

interface Workload {
  name: string;
  unit: string;
  prog: string;
  /** Arguments for each side (they differ only in the busybox path for fork-exec). */
  args(side: 'qemu' | 'labvisor', seconds: number): string[];
  /** labvisor's -L directory, if the guest needs host files besides its program. */
  labvisorPrefix?: string;
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const workloads: Workload[] = [
  {
    name: 'fork-exec',
    unit: 'fork+exec+wait/s',
    prog: 'build/guest/bench/bench_fork_exec',
    args: (side, s) => [side === 'qemu' ? join(qemuAppletDir(), 'true') : '/busybox', '100000', String(s)],
    labvisorPrefix: GUEST_DIR,
  },
  {
    name: 'pipe',
    unit: 'MB/s',
    prog: 'build/guest/bench/bench_pipe',
    args: (_side, s) => ['256', String(s)],
  },
  {
    name: 'ctxsw',
    unit: 'switches/s',
    prog: 'build/guest/bench/bench_ctxsw',
    args: (_side, s) => ['1000000', String(s)],
  },
];

const RATE_RE = /^rate=([\d.eE+-]+)\s*$/m;

/** The rate a run printed, or why there is none. */
function rateOf(r: RunResult): { rate: number } | { reason: string } {
  const m = RATE_RE.exec(r.stdout.toString('latin1'));
  if (r.timedOut) return { reason: 'timed out' };
  if (r.status !== 0 || !m) {
    const err = r.stderr.toString('latin1').trim().split('\n').filter(Boolean).pop() ?? '';
    return { reason: `exit ${r.status}${err ? `: ${err.slice(0, 80)}` : ''}` };
  }
  const rate = Number(m[1]);
  return Number.isFinite(rate) ? { rate } : { reason: `bad rate ${m[1]}` };
}

function fmtRate(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

async function main(): Promise<void> {
  ensureGuestBuilt('bench:');
  const only = option('--only');
  const seconds = Number(option('--seconds') ?? 4);
  const qemuRuns = Math.max(1, Number(option('--qemu-runs') ?? 1));
  const haveLabvisor = labvisorAvailable();
  if (!haveLabvisor) console.error(`bench: ${LABVISOR_CLI} not found: labvisor columns are n/a`);

  const rows: string[][] = [['workload', 'unit', 'labvisor', 'qemu', 'qemu/labvisor']];
  for (const w of workloads) {
    if (only && w.name !== only) continue;
    if (!existsSync(join(ROOT, w.prog))) {
      rows.push([w.name, w.unit, `n/a (${w.prog} missing)`, 'n/a', 'n/a']);
      continue;
    }
    // The guest stops itself after `seconds`; the host kill is for a guest that hangs.
    const opts = { cwd: ROOT, timeoutMs: (seconds + 16) * 1000 };

    let qemuRate: number | undefined;
    let qemuNote = '';
    for (let i = 0; i < qemuRuns; i++) {
      const r = rateOf(await runQemu(w.prog, w.args('qemu', seconds), opts));
      if ('rate' in r) qemuRate = Math.max(qemuRate ?? 0, r.rate);
      else qemuNote = r.reason;
    }
    if (qemuRate === undefined) console.error(`bench: ${w.name}: qemu failed: ${qemuNote}`);

    let labCell = 'n/a (no labvisor)';
    let labRate: number | undefined;
    if (haveLabvisor) {
      const l = await runLabvisor(w.prog, w.args('labvisor', seconds), { ...opts, prefix: w.labvisorPrefix });
      const r = rateOf(l);
      if ('rate' in r) {
        labRate = r.rate;
        labCell = fmtRate(r.rate);
      } else {
        labCell = `n/a (${r.reason})`;
        console.error(`bench: ${w.name}: labvisor stderr: ${l.stderr.toString('latin1').slice(-1500)}`);
      }
    }
    rows.push([
      w.name,
      w.unit,
      labCell,
      qemuRate === undefined ? `n/a (${qemuNote})` : fmtRate(qemuRate),
      labRate && qemuRate ? `${(qemuRate / labRate).toFixed(1)}x` : 'n/a',
    ]);
    console.error(`bench: ${w.name} done`);
  }

  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows)
    console.log(r.map((cell, c) => (c <= 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  console.log(
    `\nRates are the guest's own (its clock, ${seconds} s or a fixed count per run); qemu/labvisor = how many times ` +
      'faster qemu is. Under qemu every exec starts a new qemu process (what binfmt_misc does).',
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
