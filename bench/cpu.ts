// npm run bench:cpu — guest CPU work on labvisor exec next to qemu-riscv64-static, same binary and input, same run.
// Per workload: guest instructions retired, labvisor seconds and MIPS, qemu seconds, and the ratio.
// The instruction count comes from `LABVISOR_STATS=1 labvisor exec …`, which prints a last stderr line
// `labvisor: instret=<n> seconds=<s>` (seconds = time spent running the guest, without Node start-up).
// Options: --only NAME (compute|sha256sum|gzip), --qemu-runs N (best of N for qemu, default 3).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  BASE_ENV,
  deterministicBytes,
  deterministicText,
  firstDifference,
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
  prog: string;
  args: string[];
  stdin?: Buffer;
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const workloads: Workload[] = [
  { name: 'compute', prog: 'build/guest/bench/bench_compute', args: [] },
  {
    name: 'sha256sum',
    prog: 'build/guest/busybox',
    args: ['sha256sum'],
    stdin: deterministicBytes(16 << 20),
  },
  {
    name: 'gzip',
    prog: 'build/guest/busybox',
    args: ['gzip', '-c'],
    stdin: deterministicText(8 << 20),
  },
];

const STATS_RE = /labvisor: instret=(\d+) seconds=([\d.eE+-]+)\s*$/;

function fmt(n: number | undefined, digits: number): string {
  return n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);
}

async function main(): Promise<void> {
  ensureGuestBuilt('bench:');
  const only = option('--only');
  const qemuRuns = Math.max(1, Number(option('--qemu-runs') ?? 3));
  const haveLabvisor = labvisorAvailable();
  if (!haveLabvisor) console.error(`bench: ${LABVISOR_CLI} not found: labvisor columns are n/a`);

  const rows: string[][] = [
    ['workload', 'instructions', 'labvisor s', 'guest s', 'MIPS', 'qemu s', 'labvisor/qemu', 'output'],
  ];
  for (const w of workloads) {
    if (only && w.name !== only) continue;
    if (!existsSync(join(ROOT, w.prog))) throw new Error(`${w.prog} missing: run npm run guest`);
    const opts = { cwd: ROOT, stdin: w.stdin, timeoutMs: 30 * 60_000 };

    let best: RunResult | undefined;
    for (let i = 0; i < qemuRuns; i++) {
      const q = await runQemu(w.prog, w.args, opts);
      if (q.status !== 0) throw new Error(`qemu: ${w.name} exited with ${q.status}: ${q.stderr.toString()}`);
      if (!best || q.ms < best.ms) best = q;
    }
    const qemuS = best!.ms / 1000;

    let instret: number | undefined;
    let guestS: number | undefined;
    let labS: number | undefined;
    let output = 'n/a';
    if (haveLabvisor) {
      const l = await runLabvisor(w.prog, w.args, { ...opts, env: { ...BASE_ENV, LABVISOR_STATS: '1' } });
      labS = l.ms / 1000;
      const m = STATS_RE.exec(l.stderr.toString('latin1'));
      if (m) {
        instret = Number(m[1]);
        guestS = Number(m[2]);
      }
      const diff = firstDifference(l.stdout, best!.stdout);
      output = l.status !== 0 ? `exit ${l.status}` : diff === null ? 'same' : 'DIFFERENT';
      if (diff !== null) console.error(`bench: ${w.name}: labvisor output differs from qemu: ${diff}`);
      if (l.status !== 0) console.error(`bench: ${w.name}: labvisor stderr: ${l.stderr.toString().slice(-2000)}`);
    }
    const mips = instret !== undefined ? instret / 1e6 / (guestS && guestS > 0 ? guestS : labS!) : undefined;
    rows.push([
      w.name,
      instret === undefined ? 'n/a' : String(instret),
      fmt(labS, 2),
      fmt(guestS, 2),
      fmt(mips, 1),
      fmt(qemuS, 3),
      labS === undefined ? 'n/a' : `${(labS / qemuS).toFixed(1)}x`,
      output,
    ]);
    console.error(`bench: ${w.name} done`);
  }

  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows)
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  console.log(
    '\nMIPS = guest instructions / guest seconds (from LABVISOR_STATS); labvisor/qemu compares wall-clock seconds.',
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
