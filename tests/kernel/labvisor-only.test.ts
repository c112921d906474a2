// Guest programs without a qemu comparison (tests/guest-labvisor/): what only our machine decides
// (the OOM killer: under qemu the host's memory would run out) or what qemu-user gets wrong (robust
// futex lists: qemu answers ENOSYS and hangs). Each is compiled here and checked against what Linux
// does — the expected text is what the same source prints on a Linux host.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABVISOR_CLI, labvisorAvailable, run } from './run.js';

const SOURCES = join(import.meta.dirname, '..', 'guest-labvisor');
const OUT = mkdtempSync(join(tmpdir(), 'labvisor-only-'));

function compile(name: string, flags: string[] = []): string {
  const bin = join(OUT, name);
  execFileSync('riscv64-linux-gnu-gcc', ['-static', '-O2', ...flags, '-o', bin, join(SOURCES, `${name}.c`)]);
  return bin;
}

async function labvisor(args: string[], timeoutMs = 80_000) {
  expect(labvisorAvailable(), `${LABVISOR_CLI} is missing`).toBe(true);
  const r = await run(process.execPath, [LABVISOR_CLI, 'exec', ...args], { timeoutMs });
  expect(r.timedOut, 'labvisor timed out').toBe(false);
  return r;
}

describe('guest programs checked without qemu (labvisor only)', () => {
  it(
    'a child that touches more memory than the machine has is OOM-killed; its parent sees SIGKILL',
    { timeout: 90_000 },
    async () => {
      const r = await labvisor(['--mem', '32', '--debug', compile('mm_oom_kill')]);
      expect(r.status, r.stderr.toString()).toBe(0);
      expect(r.stdout.toString()).toContain('ok: child killed by SIGKILL');
      // The kernel says whom it killed, in Linux's words (shown on stderr with --debug).
      expect(r.stderr.toString()).toMatch(/Out of memory: Killed process \d+ \(mm_oom_kill\)/);
    },
  );

  it(
    'robust mutexes: a dead owner (thread or process) makes the next lock return EOWNERDEAD',
    { timeout: 60_000 },
    async () => {
      const r = await labvisor([compile('thread_robust', ['-pthread'])]);
      expect(r.status, r.stderr.toString()).toBe(0);
      expect(r.stdout.toString()).toBe(
        'thread case: lock after owner died: EOWNERDEAD\nconsistent: 0\nunlock: 0\n' +
          'process case: lock after owner died: EOWNERDEAD\nconsistent: 0\nunlock: 0\n',
      );
    },
  );

  it(
    'random system calls with random arguments: every child round ends, the kernel reports no BUG',
    { timeout: 120_000 },
    async () => {
      const bin = compile('fuzz_syscalls');
      for (const seed of ['1', '2']) {
        const r = await labvisor([bin, '25', seed], 110_000);
        expect(r.status, r.stderr.toString()).toBe(0);
        expect(r.stdout.toString()).toBe('rounds 25 survived 25\n');
        expect(r.stderr.toString()).not.toMatch(/BUG|internal error/);
      }
    },
  );
});
