// npx tsx tests/kernel-wip/sh-survey.ts [--labvisor] [--qemu] [--runs N] [name-substring]
// A quick survey of the busybox shell suite outside vitest: for each case, whether qemu does what the case expects
// (--qemu, N runs to catch nondeterminism), and whether labvisor matches qemu (--labvisor), with the difference.
import { SHELL_CASES, runShellLabvisor, runShellQemuFresh, type ShellCase } from '../kernel/busybox-sh-cases.js';
import type { RunResult } from '../kernel/run.js';

const argv = process.argv.slice(2);
const doLab = argv.includes('--labvisor');
const doQemu = argv.includes('--qemu') || !doLab;
const ri = argv.indexOf('--runs');
const runs = ri >= 0 ? Number(argv[ri + 1]) : 1;
const filter = argv.filter((a, i) => !a.startsWith('--') && !(ri >= 0 && i === ri + 1))[0];

function show(r: RunResult): string {
  return `status ${r.status}${r.timedOut ? ' TIMEOUT' : ''} stdout ${JSON.stringify(r.stdout.toString('latin1').slice(0, 600))} stderr ${JSON.stringify(r.stderr.toString('latin1').slice(-400))}`;
}

async function one(c: ShellCase): Promise<boolean> {
  let ok = true;
  let q: RunResult | undefined;
  if (doQemu || doLab) {
    for (let i = 0; i < runs; i++) {
      q = await runShellQemuFresh(c);
      const e = c.expect;
      const bad =
        q.status !== e.status ||
        (e.stdout !== undefined && q.stdout.toString('latin1') !== e.stdout) ||
        (e.stdoutIncludes ?? []).some((s) => !q!.stdout.toString('latin1').includes(s));
      if (bad && doQemu) {
        ok = false;
        console.log(
          `QEMU MISMATCH ${c.name}\n  expected status ${e.status} stdout ${JSON.stringify(e.stdout)}\n  got ${show(q)}`,
        );
        break;
      }
    }
  }
  if (doLab) {
    const l = await runShellLabvisor(c);
    const same =
      l.stdout.equals(q!.stdout) && l.status === q!.status && (c.compareStderr === false || l.stderr.equals(q!.stderr));
    if (!same) {
      ok = false;
      console.log(`LABVISOR DIFF ${c.name}\n  qemu     ${show(q!)}\n  labvisor ${show(l)}`);
    } else console.log(`labvisor ok  ${c.name}  (${(l.ms / 1000).toFixed(1)} s)`);
  } else if (ok) console.log(`qemu ok  ${c.name}`);
  return ok;
}

let fails = 0;
for (const c of SHELL_CASES) {
  if (filter && !c.name.includes(filter)) continue;
  if (!(await one(c))) fails++;
}
console.log(`${fails} failing`);
