// /proc in Linux's formats, read by busybox (ps, free, pidof, cat): labvisor only, since under
// qemu-user the guest sees the host's /proc.
import { describe, expect, it } from 'vitest';
import { BUSYBOX, LABVISOR_CLI, labvisorAvailable, run } from './run.js';

async function sh(script: string, extra: string[] = []): Promise<string> {
  expect(labvisorAvailable(), `${LABVISOR_CLI} is missing`).toBe(true);
  const r = await run(process.execPath, [LABVISOR_CLI, 'exec', ...extra, BUSYBOX, 'sh', '-c', script], {
    timeoutMs: 30_000,
  });
  expect(r.timedOut, 'labvisor timed out').toBe(false);
  expect(r.stderr.toString()).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.toString();
}

describe('/proc read by busybox (labvisor only)', () => {
  it('ps lists the shell and itself', async () => {
    const out = await sh('ps; echo "me $$"');
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^\s*PID\s+USER\s+COMMAND/);
    const me = lines.at(-1)!.split(' ')[1];
    const shell = lines.find((l) => l.trim().split(/\s+/)[0] === me);
    expect(shell).toMatch(/sh -c ps/);
    expect(lines.some((l) => /\{ps\}|\sps$/.test(l) && l.trim().split(/\s+/)[0] !== me)).toBe(true);
  });

  it('/proc/self/stat has 52 fields with pid, ppid and comm', async () => {
    const out = await sh('echo $$; cat /proc/self/stat; true'); // `; true`: not a tail exec of cat
    const [shPid, stat] = out.split('\n');
    const close = stat!.lastIndexOf(')');
    const head = stat!.slice(0, close + 1);
    const rest = stat!.slice(close + 2).split(' ');
    expect(rest.length + 2).toBe(52);
    expect(head).toMatch(/^\d+ \(cat\)$/);
    expect(Number(head.split(' ')[0])).toBeGreaterThan(Number(shPid));
    expect(rest[0]).toBe('R');
    expect(rest[1]).toBe(shPid); // ppid: the shell
  });

  it('free agrees with --mem and /proc/meminfo', async () => {
    const out = await sh('free; head -3 /proc/meminfo', ['--mem', '64']);
    const lines = out.split('\n');
    const mem = lines
      .find((l) => l.startsWith('Mem:'))!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    expect(mem[0]).toBe(65536);
    for (const n of mem) expect(n).toBeGreaterThanOrEqual(0);
    expect(mem[1]! + mem[2]! + mem[4]!).toBe(65536); // used + free + buff/cache
    expect(lines.find((l) => l.startsWith('MemTotal:'))).toBe('MemTotal:          65536 kB');
    expect(lines.some((l) => /^MemFree:\s+\d+ kB$/.test(l))).toBe(true);
    expect(lines.some((l) => /^MemAvailable:\s+\d+ kB$/.test(l))).toBe(true);
  });

  it('pidof finds the shell; cmdline, comm, status, maps describe the reader', async () => {
    const out = await sh(
      // The outer shell's argv[0] is busybox's path; a shell started as `sh` is what pidof finds.
      "echo $$; sh -c 'pidof sh; true'; cat /proc/self/cmdline | tr '\\0' ' '; echo; cat /proc/$$/comm; " +
        'grep -E "^(Name|PPid|State):" /proc/self/status; cat /proc/self/maps; true',
    );
    const lines = out.split('\n');
    expect(lines[1]).toMatch(/^\d+$/);
    expect(Number(lines[1])).toBeGreaterThan(Number(lines[0]));
    expect(lines[2]).toBe('cat /proc/self/cmdline ');
    expect(lines[3]).toBe('busybox');
    expect(lines[4]).toBe('Name:\tgrep');
    expect(lines[5]).toBe('State:\tR (running)');
    expect(lines[6]).toBe(`PPid:\t${lines[0]}`);
    const maps = lines.slice(7).filter((l) => l);
    expect(maps[0]).toMatch(/^[0-9a-f]{8,}-[0-9a-f]{8,} r-xp 00000000 [0-9a-f]{2}:[0-9a-f]{2} \d+ +\S*busybox$/);
    expect(maps.some((l) => l.endsWith(' [stack]'))).toBe(true);
    expect(maps.some((l) => l.endsWith(' [heap]'))).toBe(true);
  });

  it('uptime, loadavg, stat, cpuinfo, version', async () => {
    const out = await sh(
      'cat /proc/uptime /proc/loadavg; grep -E "^(cpu |btime|processes)" /proc/stat; cat /proc/cpuinfo /proc/version',
    );
    expect(out).toMatch(/^\d+\.\d\d \d+\.\d\d\n\d+\.\d\d \d+\.\d\d \d+\.\d\d 1\/\d+ \d+\n/);
    expect(out).toMatch(/\ncpu {2}\d+ 0 0 \d+ 0 0 0 0 0 0\nbtime \d+\nprocesses \d+\n/);
    expect(out).toContain('isa\t\t: rv64imafdc_zicntr_zicsr_zifencei\nmmu\t\t: sv39\n');
    expect(out).toMatch(/\nLinux version 6\.12\.0-labvisor /);
  });

  it('top -b -n1, /proc/mounts, /proc/<pid>/task', async () => {
    const out = await sh('echo $$; top -b -n1; cat /proc/mounts; ls /proc/$$/task; true');
    const lines = out.split('\n');
    const me = lines[0]!;
    expect(lines[1]).toMatch(/^Mem: \d+K used, \d+K free, /);
    expect(lines[3]).toMatch(/^Load average: \d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/\d+ \d+$/);
    expect(lines.some((l) => /^\s*\d+\s+\d+\s+\S+\s+R\s+\d+\s+\d+%\s+\d+%\s+top -b -n1$/.test(l))).toBe(true);
    expect(lines.some((l) => new RegExp(`^\\s*${me}\\s+0\\s+\\S+\\s+S\\s+`).test(l))).toBe(true);
    expect(out).toMatch(/^rootfs \/ rootfs rw\S* 0 0\n/m);
    expect(out).toMatch(/^proc \/proc proc rw\S* 0 0\n/m);
    expect(lines.at(-2)).toBe(me);
  });
});
