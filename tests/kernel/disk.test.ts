/**
 * The machine's disk under load and across boots, checked from outside by e2fsprogs:
 *  - a session creates, renames, appends and deletes 1,000 files (one directory grows past 500
 *    entries, so ext4 indexes it with an htree), copies a tree and writes a 50 MiB file; the disk
 *    (base image + the machine's overlay) then passes `e2fsck -fn`, debugfs reads the same data,
 *    the base image is byte-for-byte unchanged, and a second boot finds everything;
 *  - an image made by the host's `mke2fs -t ext4 -d DIR` (with its journal) boots, reads and
 *    writes, and stays e2fsck-clean;
 *  - corrupt images are refused with a kernel message, never a host exception.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { REPO_ROOT, runLabvisor } from './machine.js';
import { buildImageHome, e2fsck, flattenMachineDisk, imagePath, sha256File } from './image.js';

let home = '';
const BUSYBOX = join(REPO_ROOT, 'build', 'guest', 'busybox');
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const seqText = (n: number): string => Array.from({ length: n }, (_, i) => `${i + 1}\n`).join('');

beforeAll(async () => {
  home = await buildImageHome('disk');
}, 300_000);

afterAll(() => {
  if (home) rmSync(home, { recursive: true, force: true });
});

/** `labvisor run --name NAME [--image IMG] -- /bin/sh -c SCRIPT`. */
function runScript(name: string, script: string, image?: string) {
  const args = ['run', '--name', name, ...(image ? ['--image', image] : []), '--', '/bin/sh', '-c', script];
  return runLabvisor(args, { home, timeoutMs: 240_000 });
}

const STRESS = `
set -e
mkdir /d1 /d2
i=0; while [ $i -lt 1000 ]; do echo "file $i" > /d1/f$i; i=$((i+1)); done
i=0; while [ $i -lt 300 ]; do mv /d1/f$i /d2/g$i; i=$((i+1)); done
i=300; while [ $i -lt 500 ]; do echo more >> /d1/f$i; i=$((i+1)); done
i=500; while [ $i -lt 900 ]; do rm /d1/f$i; i=$((i+1)); done
mkdir -p /d3/a/b
cp -r /d2 /d3/a/b/
rm -r /d3/a/b/d2/g1*
dd if=/dev/urandom of=/big bs=1048576 count=50 2>/dev/null
sha256sum /big > /big.sum
fallocate -l 3000000 /fa
echo "d1 $(ls /d1 | wc -l) d2 $(ls /d2 | wc -l) d3 $(ls /d3/a/b/d2 | wc -l)"
cat /d1/f300 /d2/g7
sync
`;

describe('the machine disk', () => {
  it('stays e2fsck-clean after 1,000 file operations, an htree directory and a 50 MiB file; survives a reboot', async () => {
    const baseHash = sha256File(imagePath(home));
    const r = await runScript('stress', STRESS);
    expect(r.stdout).toContain('d1 300 d2 300 d3 189\nfile 300\nmore\nfile 7\n');
    expect(r.code, r.stdout + r.stderr).toBe(0);

    // The base image never changes; the machine's writes are all in its overlay.
    expect(sha256File(imagePath(home))).toBe(baseHash);

    const flat = join(home, 'stress.img');
    flattenMachineDisk(home, 'stress', flat);
    const fsck = e2fsck(flat);
    expect(fsck.output).not.toMatch(/(?:Fix|Clear|Salvage|Relocate)\?/);
    expect(fsck.status, fsck.output).toBe(0);

    // e2fsprogs reads what the guest wrote: /d1 is indexed, /big matches its checksum.
    const htree = spawnSync('debugfs', ['-R', 'htree /d1', flat], { encoding: 'latin1' });
    expect(htree.stdout).toMatch(/Root node dump:/);
    const dumped = join(home, 'big.out');
    spawnSync('debugfs', ['-R', `dump /big ${dumped}`, flat]);
    const sum = spawnSync('debugfs', ['-R', 'cat /big.sum', flat], { encoding: 'latin1' }).stdout;
    expect(sum).toBe(`${createHash('sha256').update(readFileSync(dumped)).digest('hex')}  /big\n`);

    // A second boot of the same machine sees everything.
    const again = await runScript('stress', 'ls /d1 | wc -l; sha256sum -c /big.sum; cat /d3/a/b/d2/g7; wc -c < /fa');
    expect(again.stdout).toBe('300\n/big: OK\nfile 7\n3000000\n');
    expect(again.code).toBe(0);
  }, 300_000);

  it('boots an image made by mke2fs -t ext4 -d (journal included) and writes to it', async () => {
    const root = join(home, 'mkroot');
    for (const d of ['bin', 'etc', 'dev', 'proc', 'tmp']) mkdirSync(join(root, d), { recursive: true });
    copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
    for (const a of ['sh', 'ls', 'cat', 'mkdir', 'rm', 'sync', 'wc', 'seq', 'sha256sum', 'mv'])
      symlinkSync('busybox', join(root, 'bin', a));
    writeFileSync(join(root, 'etc', 'motd'), 'made by mke2fs\n');
    const img = join(home, 'mke2fs.ext4');
    const mk = spawnSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', root, img, '64M'], { encoding: 'utf8' });
    expect(mk.status, mk.stderr).toBe(0);
    const r = await runScript(
      'mke2fs',
      'cat /etc/motd; mkdir /new; seq 1 1000 > /new/s; mv /new/s /new/t; rm /etc/motd; ls /new; sha256sum /new/t; sync',
      img,
    );
    expect(r.stdout).toBe(`made by mke2fs\nt\n${sha256(seqText(1000))}  /new/t\n`);
    const flat = join(home, 'mke2fs.flat');
    flattenMachineDisk(home, 'mke2fs', flat, img);
    const fsck = e2fsck(flat);
    expect(fsck.status, fsck.output).toBe(0);
    expect(spawnSync('debugfs', ['-R', 'cat /new/t', flat], { encoding: 'latin1' }).stdout).toBe(seqText(1000));
  }, 300_000);

  it('refuses corrupt images with a kernel message, not a host exception', async () => {
    const base = readFileSync(imagePath(home));
    const cases: Array<[string, (b: Buffer) => Buffer]> = [
      ['truncated', (b) => b.subarray(0, 3 * 1024 * 1024)],
      ['bad-magic', (b) => (b.writeUInt16LE(0x1234, 1024 + 0x38), b)],
      ['bad-group-descriptors', (b) => (b.fill(0xa5, 4096, 4096 + 64), b)],
    ];
    for (const [name, damage] of cases) {
      const img = join(home, `corrupt-${name}.ext4`);
      writeFileSync(img, damage(Buffer.from(base)));
      const r = await runScript(`corrupt-${name}`, 'echo booted; touch /x && echo wrote', img);
      const all = r.stdout + r.stderr;
      expect(all, name).not.toMatch(/TypeError|RangeError|ReferenceError|\n\s+at /);
      if (r.stdout.includes('booted')) {
        // Mounted read-only with a message, never written.
        expect(all, name).toMatch(/EXT4-fs/);
        expect(r.stdout, name).not.toContain('wrote');
      } else {
        expect(all, name).toMatch(/VFS: (Cannot open root device|Unable to mount root fs)/);
        expect(r.code, name).not.toBe(0);
      }
    }
  }, 300_000);
});
