// `labvisor exec` end to end (CLI → worker → kernel → hart), compared with qemu-riscv64-static.
import { describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_ENV, BUSYBOX, RISCV_SYSROOT, run, runLabvisor, runQemu, LABVISOR_CLI } from '../../kernel/run.js';
import { fixture } from './fixtures.js';
import { existsSync } from 'node:fs';

const lines = (b: Buffer): string[] => b.toString('utf8').split('\n');

describe('labvisor exec', () => {
  it('runs a static hello world exactly as qemu does', async () => {
    const prog = fixture('hello');
    const [ours, ref] = await Promise.all([runLabvisor(prog, []), runQemu(prog, [])]);
    expect(ours.stdout.toString()).toBe('Hello, world!\n');
    expect(ours.stdout.equals(ref.stdout)).toBe(true);
    expect(ours.stderr.toString()).toBe('');
    expect(ours.status).toBe(ref.status);
  });

  it('runs a dynamically linked hello world with -L', async () => {
    const prog = fixture('hello', { dynamic: true });
    const [ours, ref] = await Promise.all([
      runLabvisor(prog, [], { prefix: RISCV_SYSROOT }),
      runQemu(prog, [], { prefix: RISCV_SYSROOT }),
    ]);
    expect(ours.stderr.toString()).toBe('');
    expect(ours.stdout.toString()).toBe(ref.stdout.toString());
    expect(ours.status).toBe(0);
  });

  it('builds the initial stack as qemu does: argv, envp, the aux vector keys and fixed values', async () => {
    const prog = fixture('stack');
    const env = { ...BASE_ENV, LABVISOR_X: 'a b c', EMPTY: '' };
    const args = ['one', '-c', 'two words', ''];
    const [ours, ref] = await Promise.all([runLabvisor(prog, args, { env }), runQemu(prog, args, { env })]);
    expect(ours.stderr.toString()).toBe('');
    const o = lines(ours.stdout);
    const r = lines(ref.stdout);
    // qemu hands the environment over in reverse order; Linux (and we) keep execve's order.
    const envOf = (l: string[]): string[] => l.filter((x) => x.startsWith('env=')).sort();
    const rest = (l: string[]): string[] => l.filter((x) => !x.startsWith('env='));
    expect(envOf(o)).toEqual(envOf(r));
    expect(rest(o)).toEqual(rest(r));
    expect(o[0]).toBe('argc=5 argv-aligned=1');
    expect(ours.status).toBe(3);
  });

  it('exits with 128+N when the program is killed by signal N, like the shell reports qemu', async () => {
    const prog = fixture('signals');
    for (const [arg, status] of [
      ['0', 139],
      ['1', 134],
      ['2', 143],
      ['3', 132],
      ['4', 133],
    ] as const) {
      const ours = await runLabvisor(prog, [arg]);
      expect(ours.stdout.toString()).toBe('before\n');
      expect(ours.status).toBe(status);
      expect(ours.stderr.toString()).toMatch(/^labvisor: guest killed by signal \d+ \(.+\)\n$/);
    }
  });

  it('discards ignored signals, keeps blocked ones pending until unblocked, and passes exit(300) as 44', async () => {
    const prog = fixture('signals');
    for (const arg of ['5', '6', '7']) {
      const [ours, ref] = await Promise.all([runLabvisor(prog, [arg]), runQemu(prog, [arg])]);
      expect(ours.stdout.toString()).toBe(ref.stdout.toString());
      expect(ours.status).toBe(ref.status);
    }
  });

  it('answers bad pointers and bad arguments with the errno Linux gives, and never crashes', async () => {
    const prog = fixture('badptr');
    const [ours, ref] = await Promise.all([runLabvisor(prog, []), runQemu(prog, [])]);
    // Where qemu-user 7.2 is not Linux, the expected line is Linux's answer (checked against
    // the kernel sources named): everything else must match qemu.
    const linux: Record<string, string> = {
      // posix_clock_getres: put_timespec64 fails → -EFAULT (qemu ignores the copy failure).
      clock_getres: 'clock_getres = -1 errno=14',
      // hrtimer_nanosleep: get_timespec64 fails → -EFAULT before any validation.
      nanosleep: 'nanosleep = -1 errno=14',
      // sys_getrandom checks flags before touching the buffer.
      'getrandom(bad flags)': 'getrandom(bad flags) = -1 errno=22',
      // qemu has no set_robust_list; Linux checks the length.
      'set_robust_list(len)': 'set_robust_list(len) = -1 errno=22',
    };
    const expected = lines(ref.stdout).map((l) => {
      const name = l.split(' = ')[0]!;
      if (name in linux) return linux[name]!;
      // Linux's INIT_RLIMITS (qemu shows the host's limits).
      if (l.startsWith('nofile '))
        return l === lines(ref.stdout).find((x) => x.startsWith('nofile ')) ? 'nofile 1024 4096' : 'nofile 100 4096';
      // do_sigaction clears unknown sa_flags bits such as SA_UNSUPPORTED (0x400) since Linux 5.11.
      if (l.startsWith('sigaction old')) return 'sigaction old handler=1 flags=0x10000000';
      return l;
    });
    expect(lines(ours.stdout)).toEqual(expected);
    expect(ours.status).toBe(0);
  });

  it('prints --strace to stderr only, with unknown calls reported once', async () => {
    const prog = fixture('hello');
    const r = await run(process.execPath, [LABVISOR_CLI, 'exec', '--strace', prog], { env: { ...BASE_ENV } });
    expect(r.stdout.toString()).toBe('Hello, world!\n');
    expect(r.stderr.toString()).toMatch(/^1 write\(1,0x[0-9a-f]+,14\) = 14$/m);
    expect(r.stderr.toString()).toMatch(/^1 exit_group\(0\)$/m);
  });

  it('refuses a file that is not a riscv64 ELF with a message and status 1, without crashing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'labvisor-exec-'));
    const bad = join(dir, 'bad');
    writeFileSync(bad, Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(200, 0xff)]), {
      mode: 0o755,
    });
    const r = await runLabvisor(bad, []);
    expect(r.status).toBe(1);
    expect(r.stderr.toString()).toContain('Exec format error');
    const missing = await runLabvisor(join(dir, 'missing'), []);
    expect(missing.status).toBe(1);
    expect(missing.stderr.toString()).toContain('No such file or directory');
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!existsSync(BUSYBOX))('runs busybox applets and pipes stdin through', async () => {
    const input = 'banana\napple\ncherry\n';
    const [ours, ref] = await Promise.all([
      runLabvisor(BUSYBOX, ['sort'], { stdin: input }),
      runQemu(BUSYBOX, ['sort'], { stdin: input }),
    ]);
    expect(ours.stdout.toString()).toBe('apple\nbanana\ncherry\n');
    expect(ours.stdout.equals(ref.stdout)).toBe(true);
    const u = await runLabvisor(BUSYBOX, ['uname', '-m']);
    expect(u.stdout.toString()).toBe('riscv64\n');
  });
});
