/**
 * Booting machines from a disk image (`labvisor run`): init= commands and their status, an
 * interactive console driven through a pipe, power-off, reboot on the same overlay, kernel
 * threads in ps. The image is built once into a temporary LABVISOR_HOME with
 * `labvisor image build`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Machine, PROMPT, runLabvisor } from './machine.js';
import { buildImageHome, imagePath, sha256File } from './image.js';

let home = '';
let image = '';

beforeAll(async () => {
  home = await buildImageHome('boot');
  image = imagePath(home);
}, 300_000);

afterAll(() => {
  // LABVISOR_KEEP_HOME=1 keeps the temporary data directory for a look afterwards.
  if (home && process.env['LABVISOR_KEEP_HOME'] !== '1') rmSync(home, { recursive: true, force: true });
  else if (home) console.log(`kept ${home}`);
});

const sha256 = sha256File;

describe('labvisor run', () => {
  it('runs `-- CMD ARGS` as init and exits with its status', async () => {
    const r = await runLabvisor(['run', '--name', 'cmd', '--', '/bin/sh', '-c', 'echo hello; exit 3'], { home });
    expect(r.stdout).toContain('hello');
    expect(r.code).toBe(3);
  });

  it('reports a missing init as a panic', async () => {
    const r = await runLabvisor(['run', '--name', 'cmd', '--', '/no/such/init'], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Kernel panic - not syncing: Requested init /no/such/init failed (error -2).');
  });

  it('mounts the disk as / (ext4, rw) with devtmpfs on /dev, and lists kernel threads', async () => {
    const script = 'mount -t proc proc /proc && cat /proc/mounts && ps && cat /proc/2/stat && ls -1 /dev';
    const r = await runLabvisor(['run', '--name', 'cmd', '--', '/bin/sh', '-c', script], { home });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\/dev\/root \/ ext4 rw,relatime 0 0$/m);
    expect(r.stdout).toMatch(/^devtmpfs \/dev devtmpfs /m);
    expect(r.stdout).toMatch(/^\s*1 \S+\s+\/bin\/sh -c /m);
    expect(r.stdout).toMatch(/^\s*2 \S+\s+\[kthreadd\]$/m);
    expect(r.stdout).toMatch(/\[kswapd0\]$/m);
    expect(r.stdout).toMatch(/^2 \(kthreadd\) S 0 0 0 /m);
    expect(r.stdout).toMatch(/^console$/m);
  });

  it('reboots on the same overlay (reboot -f) and powers off (poweroff -f)', async () => {
    const before = sha256(image);
    // First boot: write a file and reboot; second boot (same command line): find it and power off.
    const script =
      'if [ -e /root/persist.txt ]; then cat /root/persist.txt; poweroff -f; fi; ' +
      'echo persist-$((6*7)) > /root/persist.txt; sync; reboot -f';
    const r = await runLabvisor(
      ['run', '--name', 'rebooter', '--reset', '--cmdline', 'loglevel=7', '--', '/bin/sh', '-c', script],
      {
        home,
      },
    );
    expect(r.stdout).toContain('reboot: Restarting system');
    expect(r.stdout).toContain('persist-42');
    expect(r.stdout).toContain('reboot: Power down');
    expect(r.code).toBe(0);
    // Another run of the machine still has the file; the base image never changed.
    const again = await runLabvisor(['run', '--name', 'rebooter', '--', '/bin/cat', '/root/persist.txt'], { home });
    expect(again.stdout).toContain('persist-42');
    expect(again.code).toBe(0);
    expect(sha256(image)).toBe(before);
  }, 300_000);

  it('boots to a shell prompt, runs commands, shows kernel threads, powers off', async () => {
    const m = Machine.start({ home, args: ['--name', 'interactive', '--reset'] });
    try {
      await m.expect(PROMPT, 120_000);
      const bootMs = performance.now() - m.startedMs;
      console.log(`boot to prompt: ${bootMs.toFixed(0)} ms (host time, including node startup)`);
      expect(await m.command('echo $((6*7))')).toContain('42');
      const ps = await m.command('ps');
      expect(ps).toMatch(/^\s*1 \S+\s+init/m);
      expect(ps).toMatch(/^\s*2 \S+\s+\[kthreadd\]/m);
      expect(ps).toContain('[kswapd0]');
      expect(await m.command('cat /proc/mounts')).toMatch(/^\/dev\/root \/ ext4 rw,relatime 0 0$/m);
      expect(await m.command('cat /proc/2/stat')).toMatch(/^2 \(kthreadd\) S 0 0 0 /m);
      expect(await m.command('ls -1 /dev')).toMatch(/^console$/m);
      m.send('poweroff\n');
      const r = await m.wait(60_000);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('reboot: Power down');
    } finally {
      m.kill();
    }
  }, 300_000);

  it('keeps files across a reboot in the overlay and never writes the base image', async () => {
    const before = sha256(image);
    const m = Machine.start({ home, args: ['--name', 'persist', '--reset'] });
    try {
      await m.expect(PROMPT, 120_000);
      await m.command('echo persist-$((6*7)) > /root/persist.txt; sync');
      m.send('reboot\n');
      await m.expect('reboot: Restarting system', 60_000);
      await m.expect(PROMPT, 120_000);
      expect(await m.command('cat /root/persist.txt')).toContain('persist-42');
      m.send('poweroff\n');
      expect((await m.wait(60_000)).code).toBe(0);
    } finally {
      m.kill();
    }
    // The next run of the same machine still has it; the base image is untouched.
    const r = await runLabvisor(['run', '--name', 'persist', '--', '/bin/cat', '/root/persist.txt'], { home });
    expect(r.stdout).toContain('persist-42');
    expect(r.code).toBe(0);
    expect(sha256(image)).toBe(before);
    expect(existsSync(join(home, 'machines', 'persist', 'disk.overlay'))).toBe(true);
  }, 300_000);
});
