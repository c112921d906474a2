/**
 * A scripted console session on a machine booted from the default image (busybox init, rcS,
 * a shell on ttyS0): system tools read /proc, /sys and the ext4 root and print what is true of
 * the machine; file tools work on the ext4 disk. Each command's output is checked against what
 * Linux prints for the same machine: exact text where it is fixed, the shape and the numbers
 * that must hold where it depends on timing. The expected data comes from outside the guest:
 * the image's tree as debugfs lists it, checksums computed on the host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Machine, PROMPT } from './machine.js';
import { buildImageHome, debugfsTree, imagePath } from './image.js';

let home = '';
let m: Machine;
const MEM_MIB = 256;

beforeAll(async () => {
  home = await buildImageHome('session');
  m = Machine.start({ home, args: ['--name', 'session', '--mem', String(MEM_MIB)] });
  await m.expect(PROMPT, 60_000);
  // A wide terminal, so busybox's line editing never wraps a long command line in its echo.
  await m.command('stty cols 1000');
}, 300_000);

afterAll(async () => {
  if (m) {
    m.send('poweroff\n');
    await m.wait(30_000).catch(() => m.kill());
  }
  if (home) rmSync(home, { recursive: true, force: true });
});

const sh = (cmd: string): Promise<string> => m.command(cmd, 60_000);
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
/** `seq 1 N` as the host makes it. */
const seq = (n: number): string => Array.from({ length: n }, (_, i) => `${i + 1}\n`).join('');

describe('a busybox session on a booted machine', () => {
  it('identifies the system: uname, hostname, id', async () => {
    expect(await sh('uname -a')).toBe(
      'Linux labvisor 6.12.0-labvisor #1 SMP PREEMPT_DYNAMIC Labvisor riscv64 GNU/Linux\n',
    );
    expect(await sh('hostname')).toBe('labvisor\n');
    expect(await sh('id')).toBe('uid=0(root) gid=0(root)\n');
  });

  it('ps lists init, the shell, kernel threads and itself', async () => {
    const out = await sh('ps');
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s*PID\s+USER\s+COMMAND$/); // Debian's busybox: no FEATURE_PS_TIME
    expect(out).toMatch(/^\s+1 root\s+init$/m);
    expect(out).toMatch(/^\s+2 root\s+\[kthreadd\]$/m);
    expect(out).toMatch(/^\s+\d+ root\s+\[ksoftirqd\/0\]$/m);
    expect(out).toMatch(/^\s+\d+ root\s+-\/bin\/sh$/m);
    // busybox ash runs ps in a forked child without exec: comm ps, cmdline the shell's
    expect(out).toMatch(/^\s+\d+ root\s+\{ps\} -\/bin\/sh$/m);
  });

  it('top -bn1, free and /proc/meminfo agree on the machine memory', async () => {
    const top = await sh('top -bn1');
    expect(top).toMatch(/^Mem: \d+K used, \d+K free, \d+K shrd, \d+K buff, \d+K cached$/m);
    expect(top).toMatch(/^CPU:\s+\d+% usr\s+\d+% sys\s+\d+% nic\s+\d+% idle\s+\d+% io\s+\d+% irq\s+\d+% sirq$/m);
    expect(top).toMatch(/^Load average: \d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/\d+ \d+$/m);
    expect(top).toMatch(/^\s*PID\s+PPID USER\s+STAT\s+VSZ %VSZ %CPU COMMAND$/m);
    expect(top).toMatch(/^\s*\d+\s+\d+ root\s+R\s+\d+\s+\d+%\s+\d+% top -bn1$/m);

    const meminfo = await sh('cat /proc/meminfo');
    const keys = meminfo
      .trimEnd()
      .split('\n')
      .map((l) => l.split(':')[0]);
    // Linux's order (fs/proc/meminfo.c) for the first fields.
    expect(keys.slice(0, 8)).toEqual([
      'MemTotal',
      'MemFree',
      'MemAvailable',
      'Buffers',
      'Cached',
      'SwapCached',
      'Active',
      'Inactive',
    ]);
    const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, 'm').exec(meminfo)![1]);
    expect(kb('MemTotal')).toBe(MEM_MIB * 1024);
    expect(kb('MemFree')).toBeLessThan(kb('MemTotal'));

    const free = (await sh('free')).split('\n');
    expect(free[0]).toMatch(/^\s+total\s+used\s+free\s+shared\s+buff\/cache\s+available$/);
    const mem = free[1]!.trim().split(/\s+/);
    expect(mem[0]).toBe('Mem:');
    const [total, used, fr, , cache] = mem.slice(1).map(Number);
    expect(total).toBe(MEM_MIB * 1024);
    expect(used! + fr! + cache!).toBe(total);
  });

  it('mount, df and /proc/1 show the ext4 root and the rcS mounts', async () => {
    const mounts = await sh('mount');
    expect(mounts).toContain('/dev/root on / type ext4 (rw,relatime)\n');
    expect(mounts).toMatch(/^devtmpfs on \/dev type devtmpfs \(rw,relatime.*\)$/m);
    expect(mounts).toMatch(/^proc on \/proc type proc \(rw,relatime.*\)$/m);
    expect(mounts).toMatch(/^sysfs on \/sys type sysfs \(rw,relatime.*\)$/m);
    expect(mounts).toMatch(/^devpts on \/dev\/pts type devpts \(rw,relatime.*\)$/m);
    expect(mounts).toMatch(/^tmpfs on \/tmp type tmpfs \(rw,relatime.*\)$/m);

    const df = await sh('df');
    const root = /^\/dev\/root\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)% \/$/m.exec(df);
    expect(root, df).not.toBeNull();
    const [size, used, avail] = [Number(root![1]), Number(root![2]), Number(root![3])];
    // A 512 MiB filesystem: the size is the blocks less ext4's metadata overhead.
    expect(size).toBeGreaterThan(500_000);
    expect(size).toBeLessThanOrEqual(524_288);
    expect(used).toBeGreaterThan(1000); // busybox alone is ~2 MiB
    expect(used + avail).toBeLessThanOrEqual(size);

    const ls = await sh('ls -la /proc/1');
    expect(ls).toMatch(/ exe -> \/bin\/busybox$/m);
    expect(ls).toMatch(/ cwd -> \/$/m);
    expect(ls).toMatch(/ root -> \/$/m);
    for (const f of ['cmdline', 'environ', 'fd', 'fdinfo', 'limits', 'maps', 'mountinfo', 'stat', 'statm', 'status']) {
      expect(ls).toMatch(new RegExp(` ${f}$`, 'm'));
    }
  });

  it('/proc/1/sched shows the scheduler entity as kernel/sched/debug.c prints it', async () => {
    const lines = (await sh('cat /proc/1/sched')).split('\n');
    expect(lines[0]).toBe('init (1, #threads: 1)');
    expect(lines[1]).toBe('-'.repeat(67));
    expect(lines[2]).toMatch(/^se\.exec_start {32}: {0,13}\d+\.\d{6}$/);
    expect(lines[4]).toMatch(/^se\.sum_exec_runtime {26}: {0,13}\d+\.\d{6}$/);
    expect(lines).toContain(`${'se.load.weight'.padEnd(45)}:${'1048576'.padStart(21)}`);
    expect(lines).toContain(`${'prio'.padEnd(45)}:${'120'.padStart(21)}`);
  });

  it('dmesg has the boot log', async () => {
    const d = await sh('dmesg');
    expect(d).toMatch(/^\[\s+0\.\d{6}\] Linux version 6\.12\.0-labvisor/m);
    expect(d).toMatch(/EXT4-fs \(vda\): mounted filesystem r\/w/);
    expect(d).toMatch(/Run \/sbin\/init as init process/);
  });

  it('find / -xdev sees the image tree as debugfs lists it', async () => {
    const expected = debugfsTree(imagePath(home), new Set(['/dev', '/proc', '/sys', '/tmp']));
    // Nothing of this session has written to the root yet (the file tests come after).
    // What init and the shell wrote since boot: utmp (busybox init) and the shell's history.
    expect(await sh('find / -xdev | grep -vxE "/run/utmp|/root/.ash_history" | wc -l')).toBe(`${expected.length}\n`);
  });

  it('file tools on the ext4 root: cp, mv, rm -r, ln -s, tar, gzip, sha256sum, dd, sync', async () => {
    expect(
      await sh(
        'mkdir -p /work/a/b && cd /work && echo abc > a/b/f && cp a/b/f g && mv g h && ln -s h l && cat l && ls -1',
      ),
    ).toBe('abc\na\nh\nl\n');
    expect(await sh('cd /work && readlink l && ls -l l | cut -c1')).toBe('h\nl\n');
    expect(await sh('cd /work && seq 1 20000 > s && sha256sum s')).toBe(`${sha256(seq(20000))}  s\n`);
    expect(
      await sh('cd /work && tar cf t.tar a s && mkdir x && tar xf t.tar -C x && cat x/a/b/f && cmp s x/s && echo same'),
    ).toBe('abc\nsame\n');
    expect(await sh('cd /work && gzip -c s > s.gz && gunzip -c s.gz | sha256sum')).toBe(`${sha256(seq(20000))}  -\n`);
    expect(await sh('cd /work && rm -r x a && ls -1')).toBe('h\nl\ns\ns.gz\nt.tar\n');
    const dd = await sh('cd /work && dd if=/dev/zero of=z bs=1024 count=64 2>&1 && wc -c < z');
    expect(dd).toBe('64+0 records in\n64+0 records out\n65536\n'); // as Debian's busybox dd prints it on Linux
    expect(await sh('sync; echo $?')).toBe('0\n');
  });

  it('text tools: sort, uniq, sed, awk, grep -r', async () => {
    await sh(
      'mkdir -p /work/t && cd /work/t && printf "pear\\napple\\npear\\nfig\\napple\\npear\\n" > fruit && mkdir -p d/e && echo "needle one" > d/e/x && echo hay > d/y',
    );
    expect(await sh('cd /work/t && sort fruit | uniq -c')).toBe('      2 apple\n      1 fig\n      3 pear\n');
    expect(await sh('cd /work/t && sed -n "s/p\\(ea\\)r/P\\1R/p" fruit | head -1')).toBe('PeaR\n');
    expect(await sh('cd /work/t && awk \'{ n[$1]++ } END { print n["pear"], NR }\' fruit')).toBe('3 6\n');
    expect(await sh('cd /work/t && grep -r needle . ')).toBe('./d/e/x:needle one\n');
  });
});
