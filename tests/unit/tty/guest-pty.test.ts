// The tests/guest/tty_*.c programs on our kernel, in-process (the exec-mode root has /dev/ptmx
// and devpts on /dev/pts), compared with qemu-riscv64-static on the host's real ptys: a quicker,
// debuggable twin of what tests/kernel/guest-programs.test.ts does through `labvisor exec`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../../src/machine/memory.js';
import { Clock } from '../../../src/machine/dev/clock.js';
import { BufferedCharStream } from '../../../src/machine/dev/char-stream.js';
import { Hart } from '../../../src/machine/cpu/hart.js';
import { startKernel } from '../../../src/kernel/init/main.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const hasToolchain = spawnSync('riscv64-linux-gnu-gcc', ['--version']).status === 0;
const hasQemu = spawnSync('qemu-riscv64-static', ['--version']).status === 0;

function build(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tty-guest-'));
  const out = join(dir, name.replace(/.*\//, ''));
  execFileSync('riscv64-linux-gnu-gcc', ['-static', '-O2', '-o', out, join(ROOT, `${name}.c`)]);
  return out;
}

async function runOurs(prog: string): Promise<{ stdout: string; code: number | null; signal: number | null }> {
  const mem = new PhysicalMemory(64 * 1024 * 1024);
  const clock = new Clock();
  const hart = new Hart(mem, clock);
  const chunks: Uint8Array[] = [];
  const stdin = new BufferedCharStream(false, () => {});
  stdin.end();
  const stdout = new BufferedCharStream(false, (d) => chunks.push(d));
  const stderr = new BufferedCharStream(false, (d) => process.stderr.write(d));
  const bytes = readFileSync(prog);
  const status = await startKernel({
    mem,
    hart,
    clock,
    console: (l) => process.stderr.write(l + '\n'),
    debug: !!process.env.TTY_DEBUG,
    stdio: [stdin, stdout, stderr],
    files: [{ path: '/prog', data: bytes, mode: 0o755 }],
    dirs: ['/tmp'],
    cwd: '/',
    init: { filename: '/prog', argv: [new TextEncoder().encode('prog')], envp: [] },
    uid: 0,
    gid: 0,
  });
  return { stdout: Buffer.concat(chunks).toString('latin1'), code: status.code, signal: status.signal };
}

// TTY_WIP=1 adds the programs that still wait for hooks outside the tty code (tests/guest-wip/).
const programs = [
  'tests/guest/tty_pty',
  'tests/guest/tty_jobctl',
  ...(process.env.TTY_WIP ? ['tests/guest-wip/tty_ctty'] : []),
].filter((p) => existsSync(join(ROOT, `${p}.c`)));

describe.skipIf(!hasToolchain || !hasQemu)('tty guest programs (in-process kernel with devpts) = qemu', () => {
  for (const name of programs) {
    it(name, async () => {
      const prog = build(name);
      const q = spawnSync('qemu-riscv64-static', [prog], { encoding: 'latin1', timeout: 60_000 });
      const ours = await runOurs(prog);
      expect(ours.stdout).toBe(q.stdout);
      expect(ours.code).toBe(q.status);
    });
  }
});
