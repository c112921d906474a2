// /proc and /sys on a machine booted from a disk image (`labvisor run -- CMD`): mounts as
// Linux shows them (/dev/root, relatime), mountinfo, kernel threads as [name] in ps,
// /proc/{filesystems,partitions,diskstats,cmdline}, the sysfs tree, mdev -s, dmesg.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { LABVISOR_CLI, run } from './run.js';
import { buildImageHome } from './image.js';

let home = '';

beforeAll(async () => {
  home = await buildImageHome('proc');
}, 300_000);

afterAll(() => {
  if (home) rmSync(home, { recursive: true, force: true });
});

async function boot(script: string): Promise<string> {
  const r = await run(process.execPath, [LABVISOR_CLI, 'run', '--reset', '--', '/bin/sh', '-c', script], {
    env: { ...process.env, LABVISOR_HOME: home } as Record<string, string>,
    timeoutMs: 120_000,
  });
  expect(r.timedOut, 'labvisor run timed out').toBe(false);
  return r.stdout.toString('latin1').replace(/\r\n/g, '\n');
}

describe('/proc and /sys on a booted machine', () => {
  it('mounts, mountinfo, filesystems, partitions, diskstats, cmdline, ps', async () => {
    const out = await boot(
      'mount -t proc proc /proc; mount -t sysfs sysfs /sys; cat /proc/mounts; echo @@; cat /proc/self/mountinfo; ' +
        'echo @@; cat /proc/filesystems; echo @@; cat /proc/partitions /proc/diskstats /proc/cmdline; echo @@; ps; echo @@',
    );
    const [mounts, mountinfo, filesystems, disks] = out.split('@@\n');
    expect(mounts).toMatch(/^\/dev\/root \/ ext4 rw,relatime 0 0\n/m);
    expect(mounts).toMatch(/^proc \/proc proc rw,relatime 0 0$/m);
    expect(mounts).toMatch(/^sysfs \/sys sysfs rw,relatime 0 0$/m);
    expect(mountinfo).toMatch(/^\d+ \d+ 254:0 \/ \/ rw,relatime - ext4 \/dev\/root rw/m);
    expect(mountinfo).toMatch(/^\d+ \d+ 0:\d+ \/ \/sys rw,relatime - sysfs sysfs rw$/m);
    expect(filesystems).toMatch(/^nodev\tproc$/m);
    expect(filesystems).toMatch(/^nodev\tsysfs$/m);
    expect(filesystems).toMatch(/^\text4$/m);
    expect(disks).toMatch(/^major minor {2}#blocks {2}name\n\n 254 {8}0 +\d+ vda\n/);
    const stat = /^ 254 {7}0 vda( \d+)+$/m.exec(disks!);
    expect(stat, disks).not.toBeNull();
    expect(stat![0].trim().split(/ +/).length).toBe(20);
    expect(disks).toMatch(/root=\/dev\/vda .*init=\/bin\/sh/);
    expect(out).toMatch(/^ +2 root +\[kthreadd\]$/m); // a kernel thread: empty cmdline
  }, 150_000);

  it('sysfs has the disk and devices; mdev -s makes nodes from it; dmesg shows the boot', async () => {
    const out = await boot(
      'mount -t proc proc /proc; mount -t sysfs sysfs /sys; cat /sys/block/vda/dev /sys/block/vda/size; ' +
        'cat /sys/class/mem/null/uevent; readlink /sys/dev/block/254:0; cat /sys/devices/system/cpu/online; ' +
        'mkdir /tmp/d && mount -t tmpfs tmpfs /tmp/d && cd /tmp/d && mdev -s; echo mdev=$?; ' +
        'dmesg | head -1; dmesg -r | grep -c "^<[0-7]>"',
    );
    expect(out).toContain('254:0\n');
    expect(out).toMatch(/^\d+\n/m);
    expect(out).toContain('MAJOR=1\nMINOR=3\nDEVNAME=null\n');
    expect(out).toContain('../../devices/platform/soc/10001000.virtio_mmio/virtio0/block/vda\n');
    expect(out).toMatch(/^0\n/m);
    expect(out).toContain('mdev=0\n');
    expect(out).toMatch(/^\[ {4}0\.\d{6}\] Linux version 6\.12\.0-labvisor /m);
  }, 150_000);
});
