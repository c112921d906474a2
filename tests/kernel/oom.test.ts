// The OOM killer, on our machine only (under qemu the host's memory would be what runs out).
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABVISOR_CLI, labvisorAvailable, run } from './run.js';

const SOURCE = join(import.meta.dirname, '..', 'guest-labvisor', 'mm_oom_kill.c');

describe('out of memory (labvisor only)', () => {
  it(
    'a child that touches more memory than the machine has is OOM-killed; its parent sees SIGKILL',
    { timeout: 90_000 },
    async () => {
      expect(labvisorAvailable(), `${LABVISOR_CLI} is missing`).toBe(true);
      const bin = join(mkdtempSync(join(tmpdir(), 'labvisor-oom-')), 'mm_oom_kill');
      execFileSync('riscv64-linux-gnu-gcc', ['-static', '-O2', '-o', bin, SOURCE]);
      const r = await run(process.execPath, [LABVISOR_CLI, 'exec', '--mem', '32', '--debug', bin], {
        timeoutMs: 80_000,
      });
      expect(r.timedOut).toBe(false);
      expect(r.status, r.stderr.toString()).toBe(0);
      expect(r.stdout.toString()).toContain('ok: child killed by SIGKILL');
      // The kernel says whom it killed, in Linux's words (shown on stderr with --debug).
      expect(r.stderr.toString()).toMatch(/Out of memory: Killed process \d+ \(mm_oom_kill\)/);
    },
  );
});
