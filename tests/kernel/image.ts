/**
 * Disk images for tests of booted machines: build the default image into a temporary
 * LABVISOR_HOME with the real `labvisor image build`, read a machine's disk (base image plus its
 * copy-on-write overlay) back into one flat file for e2fsck/debugfs, and list an image's tree
 * with debugfs (e2fsprogs reading our ext4, independent of our own reader).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskImage, SECTOR_SIZE } from '../../src/machine/dev/disk.js';
import { runLabvisor } from './machine.js';

/** A fresh LABVISOR_HOME holding images/busybox.ext4, built by `labvisor image build`. */
export async function buildImageHome(prefix: string): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), `labvisor-${prefix}-`));
  const r = await runLabvisor(['image', 'build', '--name', 'busybox'], { home, timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`labvisor image build failed (${r.code}): ${r.stderr}${r.stdout}`);
  return home;
}

export function imagePath(home: string, name = 'busybox'): string {
  return join(home, 'images', `${name}.ext4`);
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * The disk machine `name` sees (its image, a name in the data directory or a file path, with
 * the machine's overlay applied), written to a flat file.
 */
export function flattenMachineDisk(home: string, name: string, out: string, image = 'busybox'): void {
  const disk = DiskImage.open({
    base: image.includes('/') ? image : imagePath(home, image),
    overlay: join(home, 'machines', name, 'disk.overlay'),
    readOnly: true,
  });
  try {
    const bytes = new Uint8Array(disk.sectors * SECTOR_SIZE);
    const step = 8192; // sectors per read (4 MiB)
    for (let lba = 0; lba < disk.sectors; lba += step) {
      const n = Math.min(step, disk.sectors - lba);
      bytes.set(disk.readSectors(lba, n), lba * SECTOR_SIZE);
    }
    writeFileSync(out, bytes);
  } finally {
    disk.close();
  }
}

/** `e2fsck -fn FILE`: exit status and output (0 = clean). */
export function e2fsck(file: string): { status: number; output: string } {
  const r = spawnSync('e2fsck', ['-fn', file], { encoding: 'utf8' });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/**
 * Every path of an image as debugfs lists it ("/" first), not descending into `skip`
 * directories (mount points whose contents a guest's `find -xdev` would not see).
 */
export function debugfsTree(image: string, skip: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = ['/'];
  const walk = (dir: string): void => {
    const r = spawnSync('debugfs', ['-R', `ls -p "${dir}"`, image], { encoding: 'latin1' });
    if (r.status !== 0) throw new Error(`debugfs ls ${dir}: ${r.stderr}`);
    for (const line of r.stdout.split('\n')) {
      // /ino/mode/uid/gid/name/size/
      const f = line.split('/');
      if (f.length < 7) continue;
      const name = f.slice(5, f.length - 2).join('/');
      if (name === '.' || name === '..' || name === '') continue;
      const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
      out.push(path);
      const mode = parseInt(f[2]!, 8);
      if ((mode & 0o170000) === 0o040000 && !skip.has(path)) walk(path);
    }
  };
  walk('/');
  return out;
}
