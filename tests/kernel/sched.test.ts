// What only our single-CPU machine decides (no qemu comparison: on the host the same programs
// run on several CPUs under another scheduler). Each case runs a mode of tests/guest/proc_sched.c
// under `labvisor exec` and checks what it prints.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { GUEST_BIN, LABVISOR_CLI, labvisorAvailable, run } from './run.js';

const prog = join(GUEST_BIN, 'proc_sched');

/** Run a mode on a machine with `memMiB` of RAM (threads-max, and so the fork limit, follows RAM). */
async function mode(name: string, timeoutMs = 90_000, memMiB = 256): Promise<string> {
  expect(labvisorAvailable(), `${LABVISOR_CLI} is missing`).toBe(true);
  const r = await run(process.execPath, [LABVISOR_CLI, 'exec', '--mem', String(memMiB), prog, name], { timeoutMs });
  expect(r.timedOut, `proc_sched ${name} timed out`).toBe(false);
  expect(r.status, `proc_sched ${name}: ${r.stderr.toString()}`).toBe(0);
  return r.stdout.toString();
}

describe('scheduler and process limits (labvisor only)', () => {
  it('CFS: a nice 0 and a nice 10 CPU hog share the CPU 1024 : 110 (within 20%)', { timeout: 60_000 }, async () => {
    const out = await mode('nice');
    expect(out).toContain('nice of b: 10\n');
    const m = /ratio=([\d.]+)/.exec(out);
    expect(m, out).not.toBeNull();
    const ratio = Number(m![1]);
    const want = 1024 / 110;
    expect(ratio).toBeGreaterThan(want * 0.8);
    expect(ratio).toBeLessThan(want * 1.2);
  });

  it('a SCHED_FIFO task runs before a SCHED_OTHER one woken at the same time', { timeout: 60_000 }, async () => {
    const out = await mode('fifo');
    expect(out).toContain('policy of f: 1 prio 10; policy of o: 0\n');
    expect(out).toContain('order: FO\n');
  });

  it('a fork bomb ends with EAGAIN and the machine stays up', { timeout: 120_000 }, async () => {
    // 64 MiB: threads-max = 16384 pages / 8 = 512 (set_max_threads), a quick bomb.
    const out = await mode('forkbomb', 110_000, 64);
    const m = /linear: forks=(\d+) error=(.*)\n/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBe(511); // threads-max 512, init included
    expect(m![2]).toBe('Resource temporarily unavailable');
    expect(out).toContain(`linear: reaped=${m![1]}\n`);
    expect(out).toContain('bomb: reaped some=1\n');
    expect(out).toContain('fork works again: 1\n');
  });

  it('10,000 threads: creation stops with EAGAIN, as threads-max makes Linux do', { timeout: 60_000 }, async () => {
    const out = await mode('threads', 50_000, 64);
    const m = /threads=(\d+) error=(.*)\n/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBe(511);
    expect(m![2]).toBe('Resource temporarily unavailable');
  });

  it('orphans go to a child subreaper; PR_SET_PDEATHSIG fires when the parent dies', { timeout: 60_000 }, async () => {
    const out = await mode('subreaper');
    expect(out).toContain('subreaper flag: 1\n');
    expect(out).toContain('orphan reaped by the subreaper: r=0 status=12\n');
    expect(out).toContain('pdeathsig: r=0 code=2 status=10\n'); // CLD_KILLED by SIGUSR1
  });
});
