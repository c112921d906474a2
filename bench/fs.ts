// npm run bench:fs — booting and file-system throughput of a machine running from its ext4 disk:
//   boot      `labvisor run` until the console shows the shell prompt (busybox init, rcS, sh on ttyS0),
//             best of --boots runs (default 3); the kernel's own part is dmesg's "Run /sbin/init" time
//   create    bench/guest/bench_fs create: files created + written (4 KiB) + fsync'd + closed per second
//   seq       bench/guest/bench_fs seq: sequential write (1 MiB writes, one fsync) and read back, MB/s,
//             through the page cache of the guest's ext4
// The reference for create and seq is the same riscv64 binary under qemu-riscv64-static in a host
// directory (the host kernel's file system and page cache), run in the same invocation. Booting has no
// reference here: there is no riscv64 system emulator with a kernel on this machine.
// Options: --seconds S (create's time limit, default 4), --mib N (seq size, default 64), --boots N.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appletList, buildImage, DEFAULT_BUSYBOX, DEFAULT_SKELETON } from '../src/images/build.js';
import { Machine, PROMPT, runLabvisor } from '../tests/kernel/machine.js';
import { runQemu } from '../tests/kernel/run.js';
import { ensureGuestBuilt } from '../tests/setup/guest-binaries.js';

function option(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const SECONDS = option('--seconds', 4);
const MIB = option('--mib', 64);
const BOOTS = option('--boots', 3);
const BENCH_FS = join(import.meta.dirname, '..', 'build', 'guest', 'bench', 'bench_fs');

/** A data directory whose default image also holds /usr/local/bin/bench_fs. */
async function benchHome(): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), 'labvisor-bench-fs-'));
  const skeleton = join(home, 'skeleton');
  cpSync(DEFAULT_SKELETON, skeleton, { recursive: true });
  cpSync(BENCH_FS, join(skeleton, 'usr', 'local', 'bin', 'bench_fs'));
  await buildImage({
    busybox: DEFAULT_BUSYBOX,
    skeleton,
    manifest: `${DEFAULT_SKELETON}.manifest`,
    out: join(home, 'images', 'busybox.ext4'),
    applets: await appletList(DEFAULT_BUSYBOX),
  });
  return home;
}

function figure(out: string, key: string): number | null {
  const m = new RegExp(`^${key}=([0-9.]+)$`, 'm').exec(out);
  return m ? Number(m[1]) : null;
}

const fmt = (v: number | null, unit: string): string => (v === null ? 'n/a' : `${v.toFixed(1)} ${unit}`);

async function main(): Promise<void> {
  ensureGuestBuilt('bench:fs');
  const home = await benchHome();
  try {
    // Boot to the prompt.
    let best = Infinity;
    let kernelMs = NaN;
    for (let i = 0; i < BOOTS; i++) {
      const t0 = performance.now();
      const m = Machine.start({ home, args: ['--name', 'boot', '--reset'] });
      await m.expect(PROMPT, 60_000);
      const ms = performance.now() - t0;
      if (ms < best) {
        best = ms;
        const dmesg = await m.command('dmesg | grep "Run /sbin/init"');
        kernelMs = Number(/\[\s*([0-9.]+)\]/.exec(dmesg)?.[1] ?? NaN) * 1000;
      }
      m.send('poweroff\n');
      await m.wait(30_000);
    }
    console.log(
      `boot to shell prompt     ${best.toFixed(0)} ms (kernel to init: ${kernelMs.toFixed(0)} ms)   reference: none`,
    );

    // create + write + fsync.
    const guestCreate = await runLabvisor(
      ['run', '--name', 'fs', '--reset', '--', '/usr/local/bin/bench_fs', 'create', '/c', '100000', String(SECONDS)],
      { home, timeoutMs: 300_000 },
    );
    const hostDir = mkdtempSync(join(tmpdir(), 'bench-fs-qemu-'));
    const qemuCreate = await runQemu(BENCH_FS, ['create', join(hostDir, 'c'), '100000', String(SECONDS)]);
    console.log(
      `create+write+fsync       ${fmt(figure(guestCreate.stdout, 'rate'), 'files/s')}   qemu on the host fs: ${fmt(figure(qemuCreate.stdout.toString(), 'rate'), 'files/s')}`,
    );

    // Sequential write and read.
    const guestSeq = await runLabvisor(
      ['run', '--name', 'fs', '--', '/usr/local/bin/bench_fs', 'seq', '/seq.dat', String(MIB)],
      { home, timeoutMs: 300_000 },
    );
    const qemuSeq = await runQemu(BENCH_FS, ['seq', join(hostDir, 'seq.dat'), String(MIB)]);
    const q = qemuSeq.stdout.toString();
    console.log(
      `sequential write ${MIB} MiB  ${fmt(figure(guestSeq.stdout, 'write'), 'MB/s')}   qemu on the host fs: ${fmt(figure(q, 'write'), 'MB/s')}`,
    );
    console.log(
      `sequential read ${MIB} MiB   ${fmt(figure(guestSeq.stdout, 'read'), 'MB/s')}   qemu on the host fs: ${fmt(figure(q, 'read'), 'MB/s')}`,
    );
    if (guestSeq.code !== 0 || guestCreate.code !== 0)
      console.log(
        `labvisor runs failed: ${guestCreate.stdout}${guestCreate.stderr}${guestSeq.stdout}${guestSeq.stderr}`,
      );
    rmSync(hostDir, { recursive: true, force: true });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
