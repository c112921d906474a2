// The kernel log (dmesg through syslog(2), /dev/kmsg), /proc/sys, and the newer /proc entries
// (mountinfo, fdinfo, thread-self, smaps_rollup, status keys) read by busybox applets.
// Labvisor only where the guest would read the host's /proc under qemu-user; where Linux's
// output is the same under qemu, the two are compared.
import { describe, expect, it } from 'vitest';
import { BUSYBOX, LABVISOR_CLI, labvisorAvailable, run, runLabvisor, runQemu } from './run.js';

async function sh(script: string, extra: string[] = []): Promise<string> {
  expect(labvisorAvailable(), `${LABVISOR_CLI} is missing`).toBe(true);
  const r = await run(process.execPath, [LABVISOR_CLI, 'exec', ...extra, BUSYBOX, 'sh', '-c', script], {
    timeoutMs: 60_000,
  });
  expect(r.timedOut, 'labvisor timed out').toBe(false);
  expect(r.stderr.toString()).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.toString();
}

describe('kernel log (labvisor only)', () => {
  it('dmesg shows the boot log with [seconds.micros] stamps; -r shows <level>', async () => {
    const out = await sh('dmesg; echo ---; dmesg -r | head -2');
    const [plain, raw] = out.split('---\n');
    const lines = plain!.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\[ {4}0\.\d{6}\] Linux version 6\.12\.0-labvisor /);
    for (const l of lines) expect(l).toMatch(/^\[\s*\d+\.\d{6}\] /);
    expect(plain).toMatch(/\] Run .*busybox as init process\n/);
    expect(raw).toMatch(/^<6>\[ {4}0\.\d{6}\] Linux version /);
  });

  it('/dev/kmsg: one record per read, writes appear in dmesg, dmesg -c clears', async () => {
    const out = await sh(
      'mknod /tmp/kmsg c 1 11; echo "<2>guest says hi" > /tmp/kmsg; dmesg | tail -1; ' +
        'dd if=/tmp/kmsg bs=1024 count=1 2>/dev/null; dmesg -c > /dev/null; echo "cleared:$(dmesg | wc -l)"',
    );
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^\[\s*\d+\.\d{6}\] guest says hi$/);
    expect(lines[1]).toMatch(/^6,0,\d+,-;Linux version 6\.12\.0-labvisor /);
    // dmesg -c cleared; only what was logged after it (dmesg's own exit, if logged) remains.
    expect(Number(lines[2]!.slice('cleared:'.length))).toBeLessThanOrEqual(2);
  });

  it('sysctl reads /proc/sys; a write to kernel.hostname changes uname', async () => {
    const out = await sh(
      'sysctl kernel.ostype kernel.osrelease kernel.printk vm.overcommit_memory; ' +
        'sysctl -w kernel.hostname=guest >/dev/null; hostname; cat /proc/sys/kernel/random/boot_id /proc/sys/kernel/random/boot_id',
    );
    const l = out.split('\n');
    expect(l.slice(0, 5)).toEqual([
      'kernel.ostype = Linux',
      'kernel.osrelease = 6.12.0-labvisor',
      'kernel.printk = 7\t4\t1\t7',
      'vm.overcommit_memory = 0',
      'guest',
    ]);
    expect(l[5]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(l[6]).toBe(l[5]); // one boot id per boot
  });
});

describe('/proc entries (labvisor only)', () => {
  it('mountinfo, fdinfo, thread-self, ls -la /proc/1', async () => {
    const out = await sh(
      'cat /proc/self/mountinfo; echo ---; exec 3</proc/version; cat /proc/self/fdinfo/3; echo ---; ' +
        'readlink /proc/thread-self; echo "me $$"; echo ---; ls -la /proc/1; true',
    );
    const [mountinfo, fdinfo, thread, ls] = out.split('---\n');
    for (const l of mountinfo!.trimEnd().split('\n'))
      expect(l).toMatch(/^\d+ \d+ \d+:\d+ \/\S* \/\S* (rw|ro)\S* (\S+ )*- \S+ \S+ (rw|ro)\S*$/);
    expect(mountinfo).toMatch(/ \/proc (rw|ro)\S* - proc proc /);
    expect(fdinfo).toMatch(/^pos:\t0\nflags:\t0[0-7]+\nmnt_id:\t\d+\nino:\t\d+\n$/);
    const me = thread!.split('\n')[1]!.slice(3);
    expect(thread!.split('\n')[0]).toMatch(new RegExp(`^\\d+/task/\\d+$`));
    expect(me).toMatch(/^\d+$/);
    for (const name of ['cmdline', 'comm', 'cwd', 'exe', 'fd', 'fdinfo', 'maps', 'mountinfo', 'stat', 'status', 'task'])
      expect(ls).toMatch(new RegExp(` ${name}( ->|\\n)`));
  });

  it('oom_score, oom_score_adj and comm are writable as in Linux', async () => {
    const out = await sh(
      'echo 500 > /proc/$$/oom_score_adj; cat /proc/$$/oom_score_adj; ' +
        '(echo 5000 > /proc/$$/oom_score_adj) 2>/dev/null || echo EINVAL; cat /proc/self/oom_score; ' +
        'echo renamed > /proc/$$/comm; cat /proc/$$/comm; cat /proc/swaps',
    );
    const l = out.split('\n');
    expect(l[0]).toBe('500');
    expect(l[1]).toBe('EINVAL');
    // cat inherits the shell's oom_score_adj 500 at fork, as on Linux:
    // (1000 + badness * 1000 / totalpages) * 2 / 3 with badness ≈ 500/1000 of RAM → about 1000.
    expect(Number(l[2])).toBeGreaterThanOrEqual(1000);
    expect(Number(l[2])).toBeLessThan(1034);
    expect(l[3]).toBe('renamed');
    expect(l[4]).toBe('Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority');
  });

  it('top, uptime and free read loadavg, uptime and meminfo', async () => {
    const out = await sh('uptime; cat /proc/loadavg; free | head -2');
    const l = out.split('\n');
    expect(l[0]).toMatch(/^ \d\d:\d\d:\d\d up +\d+ min, +\d+ users?, +load average: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d$/);
    expect(l[1]).toMatch(/^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/\d+ \d+$/);
    expect(l[2]).toMatch(/^\s+total\s+used\s+free\s+shared\s+buff\/cache\s+available$/);
  });
});

describe('/proc formats that Linux shows the same way (compared with qemu)', () => {
  // Under qemu-user the guest reads the host's /proc: the keys (not the values) must match.
  const script =
    "sed 's/:.*//' /proc/self/smaps_rollup | tail -n +2; echo ---; sed 's/:.*//' /proc/self/fdinfo/0 | head -4; " +
    "echo ---; cat /proc/self/stat | sed 's/.*) //' | wc -w; head -1 /proc/partitions";
  it('smaps_rollup keys, fdinfo keys, stat field count, partitions header', async () => {
    const [ours, linux] = await Promise.all([
      runLabvisor(BUSYBOX, ['sh', '-c', script], { stdinFile: '/dev/null' }),
      runQemu(BUSYBOX, ['sh', '-c', script], { stdinFile: '/dev/null' }),
    ]);
    expect(linux.status).toBe(0);
    expect(ours.stderr.toString()).toBe('');
    expect(ours.stdout.toString()).toBe(linux.stdout.toString());
  });
});
