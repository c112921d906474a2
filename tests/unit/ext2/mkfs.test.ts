/**
 * mkfs, populate and the default busybox image, checked by e2fsprogs: e2fsck -fn must find nothing,
 * dumpe2fs must show mke2fs' feature set, debugfs must read back what was written, and the metadata mkfs
 * writes must be byte-for-byte what `mke2fs -t ext4 -O ^has_journal,^resize_inode` writes for the same
 * UUID, hash seed and time (E2FSPROGS_FAKE_TIME), apart from s_kbytes_written and the superblock checksum.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemBlockDevice } from '../../../src/kernel/fs/ext2/block_device.js';
import { EXT2_ROOT_INO, EXT4_INDEX_FL, S_IFMT, S_IFREG } from '../../../src/kernel/fs/ext2/disk_layout.js';
import { Ext2Fs } from '../../../src/kernel/fs/ext2/ext2fs.js';
import { MkfsError, mkfs, parseUuid, type MkfsOptions } from '../../../src/kernel/fs/ext2/mkfs.js';
import {
  PopulateError,
  addDevice,
  addDir,
  addFile,
  addSymlink,
  populate,
  resolvePath,
} from '../../../src/kernel/fs/ext2/populate.js';
import {
  DEFAULT_BUSYBOX,
  DEFAULT_SKELETON,
  appletList,
  appletListFromLabvisor,
  appletListFromQemu,
  buildImage,
  parseAppletList,
} from '../../../src/images/build.js';
import { SparseFileDevice } from '../../../src/images/sparse_file_device.js';

const MKE2FS = '/usr/sbin/mke2fs';
const E2FSCK = '/usr/sbin/e2fsck';
const DUMPE2FS = '/usr/sbin/dumpe2fs';
const DEBUGFS = '/usr/sbin/debugfs';

const UUID = '11111111-2222-3333-4444-555555555555';
const SEED = '66666666-7777-8888-9999-aaaaaaaaaaaa';
const NOW = 1700000000;
const MiB = 1024 * 1024;

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mkfs-test-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function e2fsck(img: string): { status: number | null; out: string } {
  const r = spawnSync(E2FSCK, ['-fn', img], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

function expectClean(img: string): string {
  const r = e2fsck(img);
  if (r.status !== 0) throw new Error(`e2fsck -fn ${img} exited ${r.status}:\n${r.out}`);
  expect(r.out).not.toMatch(/Fix\?|Clear\?|error|invalid/i);
  return r.out;
}

function debugfs(img: string, cmd: string): string {
  return execFileSync(DEBUGFS, ['-R', cmd, img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function dumpHeader(img: string): Record<string, string> {
  const out = execFileSync(DUMPE2FS, ['-h', img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const h: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (m) h[m[1].trim()] = m[2].trim();
  }
  return h;
}

/** mkfs into a fresh sparse file of `sizeMiB`. */
function makeImage(name: string, sizeMiB: number, opts: MkfsOptions = {}): string {
  const img = path.join(tmp, name);
  fs.rmSync(img, { force: true });
  const dev = SparseFileDevice.create(img, sizeMiB * MiB);
  try {
    mkfs(dev, { assumeZeroed: true, ...opts });
  } finally {
    dev.close();
  }
  return img;
}

function refImage(name: string, sizeMiB: number, type: 'ext4' | 'ext2', bs: number, label = ''): string {
  const img = path.join(tmp, name);
  fs.rmSync(img, { force: true });
  fs.writeFileSync(img, '');
  fs.truncateSync(img, sizeMiB * MiB);
  const feats = type === 'ext4' ? '^has_journal,^resize_inode' : '^resize_inode';
  const args = [
    '-q',
    '-F',
    '-t',
    type,
    '-O',
    feats,
    '-b',
    String(bs),
    '-i',
    '16384',
    '-U',
    UUID,
    '-E',
    `hash_seed=${SEED}`,
  ];
  if (label) args.push('-L', label);
  execFileSync(MKE2FS, [...args, img], { env: { ...process.env, E2FSPROGS_FAKE_TIME: String(NOW) }, stdio: 'pipe' });
  return img;
}

/** Byte offsets where two same-sized files differ (chunks compared with memcmp, bytes only where they differ). */
function differingOffsets(a: string, b: string, regions?: Array<[number, number]>): number[] {
  const size = fs.statSync(a).size;
  expect(fs.statSync(b).size).toBe(size);
  const ranges = regions ?? [[0, size]];
  const fa = fs.openSync(a, 'r');
  const fb = fs.openSync(b, 'r');
  const CH = 8 * MiB;
  const ba = Buffer.alloc(CH);
  const bb = Buffer.alloc(CH);
  const out: number[] = [];
  try {
    for (const [start, end] of ranges) {
      for (let pos = start; pos < end; pos += CH) {
        const want = Math.min(CH, end - pos);
        const n = fs.readSync(fa, ba, 0, want, pos);
        fs.readSync(fb, bb, 0, want, pos);
        if (ba.compare(bb, 0, n, 0, n) === 0) continue;
        for (let i = 0; i < n; i++) if (ba[i] !== bb[i]) out.push(pos + i);
      }
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
  return out;
}

describe('mkfs', () => {
  const EXT4_FEATURES = [
    'ext_attr',
    'dir_index',
    'filetype',
    'extent',
    '64bit',
    'flex_bg',
    'sparse_super',
    'large_file',
    'huge_file',
    'dir_nlink',
    'extra_isize',
    'metadata_csum',
  ];

  for (const size of [8, 64, 512]) {
    it(`makes a clean ext4 of ${size} MiB with mke2fs' features, sparse on disk`, () => {
      const t0 = performance.now();
      const img = makeImage(`ext4-${size}.img`, size, { label: 'testvol', now: NOW });
      const ms = performance.now() - t0;
      expect(ms).toBeLessThan(2000);
      const out = expectClean(img);
      expect(out).toMatch(/testvol: 11\/\d+ files/);
      const h = dumpHeader(img);
      expect(h['Filesystem features'].split(/\s+/).sort()).toEqual([...EXT4_FEATURES].sort());
      expect(h['Filesystem state']).toBe('clean');
      expect(h['Block size']).toBe('4096');
      expect(h['Inode size']).toBe('256');
      expect(h['Flex block group size']).toBe('16');
      expect(h['Checksum type']).toBe('crc32c');
      expect(h['Default directory hash']).toBe('half_md4');
      expect(h['Inode count']).toBe(String((size * MiB) / 16384));
      expect(h['Block count']).toBe(String((size * MiB) / 4096));
      expect(h['Filesystem created']).toMatch(/Nov 14 22:13:20 2023/);
      // Only metadata was written: a few dozen KiB whatever the size.
      expect(fs.statSync(img).blocks * 512).toBeLessThan(256 * 1024);
      // lost+found comes with its 16 KiB of empty blocks, as mke2fs makes it.
      expect(debugfs(img, 'stat /lost+found')).toMatch(/Size: 16384/);
    });

    it(`writes the same metadata as mke2fs 1.47 (${size} MiB ext4)`, () => {
      const ours = makeImage(`same-${size}.img`, size, {
        uuid: parseUuid(UUID),
        hashSeed: parseUuid(SEED),
        now: NOW,
        label: 'refvol',
      });
      const ref = refImage(`ref-${size}.img`, size, 'ext4', 4096, 'refvol');
      const bs = 4096;
      // Up to 64 MiB the whole files are compared. At 512 MiB (a loaded CI machine reads 1 GiB slowly) the
      // regions that hold data: group 0's metadata and the backup groups' superblock and descriptors;
      // both files hold only ~128 KiB of data (checked above and here), so nothing else can hide.
      const regions: Array<[number, number]> | undefined =
        size > 64
          ? [[0, 16 * MiB], ...[1, 3].map((g): [number, number] => [g * 128 * MiB, g * 128 * MiB + 2 * bs])]
          : undefined;
      if (regions) {
        expect(fs.statSync(ours).blocks * 512).toBeLessThanOrEqual(fs.statSync(ref).blocks * 512);
      }
      const diffs = differingOffsets(ours, ref, regions);
      // Allowed: s_kbytes_written (0x178, an I/O statistic) and s_checksum (0x3fc) of each superblock copy.
      const sbOffsets = [1024, ...[1, 3, 5, 7, 9, 25, 27, 49, 81, 125].map((g) => g * 32768 * bs)];
      const allowed = (o: number): boolean =>
        sbOffsets.some((s) => (o >= s + 0x178 && o < s + 0x180) || (o >= s + 0x3fc && o < s + 0x400));
      expect(diffs.filter((o) => !allowed(o))).toEqual([]);
    });
  }

  for (const bs of [1024, 4096] as const) {
    it(`makes the ext2 variant with ${bs}-byte blocks, identical to mke2fs -t ext2`, () => {
      const ours = makeImage(`ext2-${bs}.img`, 64, {
        features: 'ext2',
        blockSize: bs,
        uuid: parseUuid(UUID),
        hashSeed: parseUuid(SEED),
        now: NOW,
      });
      expectClean(ours);
      const h = dumpHeader(ours);
      expect(h['Filesystem features'].split(/\s+/).sort()).toEqual(
        ['ext_attr', 'dir_index', 'filetype', 'sparse_super', 'large_file'].sort(),
      );
      const ref = refImage(`ref-ext2-${bs}.img`, 64, 'ext2', bs);
      const groupsWithSuper = bs === 1024 ? [0, 1, 3, 5, 7] : [0];
      const sbOffsets = groupsWithSuper.map((g) => (g === 0 ? 1024 : (1 + g * 8192) * 1024));
      const allowed = (o: number): boolean =>
        sbOffsets.some((s) => (o >= s + 0x178 && o < s + 0x180) || (o >= s + 0x3fc && o < s + 0x400));
      expect(differingOffsets(ours, ref).filter((o) => !allowed(o))).toEqual([]);
    });
  }

  // Geometries away from the defaults: a trimmed last group, 1 KiB blocks with flex_bg, an inode ratio that
  // forces smaller groups, and many flex groups. dumpe2fs (every group's layout, flags, free counts and
  // bitmap checksums) must match mke2fs' word for word.
  const geometries: Array<{ mib: number; bs: 1024 | 4096; ratio: number }> = [
    { mib: 129, bs: 4096, ratio: 16384 },
    { mib: 300, bs: 1024, ratio: 16384 },
    { mib: 1024, bs: 4096, ratio: 1024 },
    { mib: 20000, bs: 4096, ratio: 16384 },
  ];
  for (const { mib, bs, ratio } of geometries) {
    it(`lays out ${mib} MiB (${bs}-byte blocks, inode ratio ${ratio}) exactly as mke2fs`, () => {
      const ours = makeImage(`geo-${mib}.img`, mib, {
        blockSize: bs,
        inodeRatio: ratio,
        uuid: parseUuid(UUID),
        hashSeed: parseUuid(SEED),
        now: NOW,
      });
      const ref = path.join(tmp, `geo-ref-${mib}.img`);
      fs.writeFileSync(ref, '');
      fs.truncateSync(ref, mib * MiB);
      execFileSync(
        MKE2FS,
        ['-q', '-F', '-t', 'ext4', '-O', '^has_journal,^resize_inode', '-b', String(bs), '-i', String(ratio)].concat([
          '-U',
          UUID,
          '-E',
          `hash_seed=${SEED}`,
          ref,
        ]),
        { env: { ...process.env, E2FSPROGS_FAKE_TIME: String(NOW) }, stdio: 'pipe' },
      );
      const dump = (img: string): string =>
        execFileSync(DUMPE2FS, [img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 })
          .split('\n')
          .filter((l) => !/^(Checksum|Lifetime writes):/.test(l))
          .join('\n');
      expect(dump(ours)).toBe(dump(ref));
      expectClean(ours);
      fs.rmSync(ref);
    });
  }

  it('zeroes the inode tables of a device that held other data', () => {
    const data = new Uint8Array(16 * MiB).fill(0xa5);
    mkfs(new MemBlockDevice(data), { now: NOW });
    const img = path.join(tmp, 'dirty.img');
    fs.writeFileSync(img, data);
    expectClean(img);
    // And our own reader mounts it.
    const f = Ext2Fs.mount(new MemBlockDevice(data), { readOnly: true });
    expect(f.readdir(EXT2_ROOT_INO).map((e) => e.name)).toEqual(['.', '..', 'lost+found']);
  });

  it('drops a last group too small for its metadata, as ext2fs_initialize does', () => {
    // 128 MiB + 100 blocks: the 5th group would hold 100 blocks, less than its tables + 50.
    const img = makeImage('odd.img', 129, { now: NOW, blocks: 32768 + 100 });
    expectClean(img);
    expect(dumpHeader(img)['Block count']).toBe('32768');
  });

  it('refuses what it cannot make, with a clear error', () => {
    expect(() => mkfs(new MemBlockDevice(new Uint8Array(64 * 1024)))).toThrow(MkfsError);
    expect(() => mkfs(new MemBlockDevice(new Uint8Array(8 * MiB)), { label: 'x'.repeat(17) })).toThrow(/label/);
    expect(() => mkfs(new MemBlockDevice(new Uint8Array(8 * MiB)), { now: Date.now() })).toThrow(/seconds/);
    expect(() => parseUuid('not-a-uuid')).toThrow(MkfsError);
  });

  it('gives each filesystem a random version-4 UUID and hash seed unless told', () => {
    const a = makeImage('r1.img', 8);
    const b = makeImage('r2.img', 8);
    const ha = dumpHeader(a);
    const hb = dumpHeader(b);
    expect(ha['Filesystem UUID']).not.toBe(hb['Filesystem UUID']);
    expect(ha['Directory Hash Seed']).not.toBe(hb['Directory Hash Seed']);
    expect(ha['Filesystem UUID']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('populate', () => {
  let host: string;
  const payload = new Uint8Array(300_000).map((_, i) => (i * 7 + (i >> 9)) & 0xff);

  beforeAll(() => {
    host = path.join(tmp, 'host');
    fs.mkdirSync(path.join(host, 'etc'), { recursive: true });
    fs.mkdirSync(path.join(host, 'usr/lib'), { recursive: true });
    fs.mkdirSync(path.join(host, 'many'));
    fs.writeFileSync(path.join(host, 'etc/hello.txt'), 'hello, world\n');
    fs.writeFileSync(path.join(host, 'empty'), '');
    fs.writeFileSync(path.join(host, 'usr/lib/big.bin'), payload);
    fs.chmodSync(path.join(host, 'usr/lib/big.bin'), 0o750);
    fs.linkSync(path.join(host, 'usr/lib/big.bin'), path.join(host, 'usr/lib/big-link.bin'));
    fs.symlinkSync('usr/lib', path.join(host, 'lib'));
    fs.symlinkSync('/a/very/long/symlink/target/that/does/not/fit/in/the/inode/itself', path.join(host, 'longlink'));
    fs.writeFileSync(path.join(host, 'ünïcode'), 'utf-8 name\n');
    for (let i = 0; i < 600; i++)
      fs.writeFileSync(path.join(host, 'many', `entry-${String(i).padStart(4, '0')}`), `${i}\n`);
    const fifo = spawnSync('mkfifo', [path.join(host, 'fifo')]);
    expect(fifo.status).toBe(0);
    fs.writeFileSync(
      path.join(tmp, 'test.manifest'),
      [
        '# a comment',
        'dir /tmp 1777 0 0',
        'dir /home/user 0750 1000 100',
        'nod /dev/console 0600 0 0 c 5 1',
        'nod /dev/vda 0660 0 6 b 254 0',
        'nod /dev/big 0600 0 0 c 300 70000',
        'slink /etc/mtab /proc/self/mounts 0777 0 0',
        'file /etc/hello.txt - 0600 0 0',
        'file /etc/copied test.manifest 0644 0 0',
        'pipe /run/initctl 0600 0 0',
        '',
      ].join('\n'),
    );
  });

  it('copies a host tree (600-entry htree directory, hard link, symlinks, fifo) and e2fsck is clean', () => {
    const img = makeImage('pop.img', 64, { now: NOW });
    const dev = SparseFileDevice.open(img);
    const t0 = performance.now();
    const f = Ext2Fs.mount(dev, { now: () => NOW * 1000 });
    const st = populate(f, EXT2_ROOT_INO, host, { manifest: path.join(tmp, 'test.manifest'), now: NOW });
    f.unmount();
    dev.close();
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(15_000); // ~1 s on an idle machine; generous for a loaded CI box
    expect(st.bytes).toBeGreaterThan(payload.length);
    expectClean(img);

    const dump = path.join(tmp, 'dumped');
    debugfs(img, `dump /usr/lib/big.bin ${dump}`);
    expect(new Uint8Array(fs.readFileSync(dump))).toEqual(payload);
    expect(debugfs(img, 'cat /etc/hello.txt')).toBe('hello, world\n');
    expect(debugfs(img, 'stat /usr/lib/big.bin')).toMatch(/Mode:\s+0750[\s\S]*Links: 2/);
    expect(debugfs(img, 'stat /usr/lib/big-link.bin')).toMatch(/Links: 2/);
    expect(debugfs(img, 'stat /lib')).toMatch(/Fast link dest: "usr\/lib"/);
    expect(debugfs(img, 'stat /longlink')).toMatch(/Type: symlink/);
    expect(debugfs(img, 'stat /fifo')).toMatch(/Type: FIFO/);
    expect(debugfs(img, 'stat /etc/hello.txt')).toMatch(/Mode:\s+0600/);
    expect(debugfs(img, 'stat /tmp')).toMatch(/Mode:\s+01777/);
    expect(debugfs(img, 'stat /home/user')).toMatch(/User:\s+1000\s+Group:\s+100/);
    expect(debugfs(img, 'stat /dev/console')).toMatch(/Device major\/minor number: 05:01/);
    expect(debugfs(img, 'stat /dev/vda')).toMatch(/Type: block special[\s\S]*Device major\/minor number: 254:00/);
    expect(debugfs(img, 'stat /dev/big')).toMatch(/Device major\/minor number: 300:70000/);
    expect(debugfs(img, 'stat /run/initctl')).toMatch(/Type: FIFO/);
    expect(debugfs(img, 'stat /etc/mtab')).toMatch(/Fast link dest: "\/proc\/self\/mounts"/);
    expect(debugfs(img, 'cat /etc/copied')).toMatch(/^# a comment/);
    expect(debugfs(img, 'stat /etc/hello.txt')).toMatch(/mtime: 0x6553f100/);
    // 600 entries do not fit one block: the directory became htree-indexed (ext4 make_indexed_dir).
    expect(debugfs(img, 'stat /many')).toMatch(/Flags: 0x\d*1\d{3}\b/);
    expect(debugfs(img, 'ls /many').match(/entry-\d{4}/g)?.length).toBe(600);

    // Our own reader agrees.
    const ro = SparseFileDevice.open(img, { readOnly: true });
    const r = Ext2Fs.mount(ro, { readOnly: true });
    const many = resolvePath(r, '/many');
    expect(r.readInode(many).flags & EXT4_INDEX_FL).toBe(EXT4_INDEX_FL);
    expect(r.readdir(many).length).toBe(602);
    expect(r.readlink(resolvePath(r, '/longlink'))).toMatch(/^\/a\/very\/long/);
    const uni = resolvePath(r, '/ünïcode');
    expect(uni).toBeGreaterThan(0);
    expect((r.readInode(uni).mode & S_IFMT) === S_IFREG).toBe(true);
    ro.close();
  });

  it('addFile/addSymlink/addDir/addDevice resolve paths through symlinks and refuse type clashes', () => {
    const data = new Uint8Array(32 * MiB);
    mkfs(new MemBlockDevice(data), { now: NOW });
    const f = Ext2Fs.mount(new MemBlockDevice(data), { now: () => NOW * 1000 });
    addDir(f, '/usr/lib', 0o755);
    addSymlink(f, '/lib', 'usr/lib');
    const ino = addFile(f, '/lib/x/y.so', new TextEncoder().encode('ELF?'), 0o755);
    expect(resolvePath(f, '/usr/lib/x/y.so')).toBe(ino);
    // Rewriting a file replaces its contents.
    addFile(f, '/usr/lib/x/y.so', new TextEncoder().encode('v2'), 0o644);
    const buf = new Uint8Array(10);
    expect(f.read(ino, 0, buf)).toBe(2);
    expect(f.readInode(ino).mode & 0o7777).toBe(0o644);
    // A symlink can be re-pointed; a directory cannot be overwritten by a file.
    addSymlink(f, '/lib', 'usr/lib64');
    expect(f.readlink(resolvePath(f, '/lib'))).toBe('usr/lib64');
    expect(() => addFile(f, '/usr', new Uint8Array(1), 0o644)).toThrow(PopulateError);
    expect(() => addDir(f, '/usr/lib/x/y.so')).toThrow(/not a directory/);
    addDevice(f, '/dev/null', 'c', 1, 3, 0o666);
    expect(f.readInode(resolvePath(f, '/dev/null')).rdev).toBe((1 << 8) | 3);
    // A second tree merges into directories the image already has; a clashing file is refused.
    const h2 = path.join(tmp, 'host2');
    fs.mkdirSync(path.join(h2, 'usr', 'lib'), { recursive: true });
    fs.writeFileSync(path.join(h2, 'usr', 'lib', 'more.txt'), 'more\n');
    populate(f, EXT2_ROOT_INO, h2);
    expect(resolvePath(f, '/usr/lib/more.txt')).toBeGreaterThan(0);
    expect(() => populate(f, EXT2_ROOT_INO, h2)).toThrow(/already exists/);
    addSymlink(f, '/loop', '/loop');
    expect(() => addFile(f, '/loop/x', new Uint8Array(1), 0o644)).toThrow(/symbolic links/);
    f.unmount();
    const img = path.join(tmp, 'helpers.img');
    fs.writeFileSync(img, data);
    expectClean(img);
  });
});

describe('buildImage (default busybox image)', () => {
  const haveBusybox = fs.existsSync(DEFAULT_BUSYBOX);
  if (!haveBusybox) {
    it.skip(`needs ${DEFAULT_BUSYBOX}: run scripts/fetch-busybox.sh (or npm run guest)`, () => {});
    return;
  }

  it('parses busybox --list-full and refuses paths leaving the root', () => {
    expect(parseAppletList('bin/ls\nusr/bin/[\nlinuxrc\n')).toEqual(['bin/ls', 'usr/bin/[', 'linuxrc']);
    expect(() => parseAppletList('bin/../../etc/passwd\n')).toThrow(/unexpected/);
    expect(() => parseAppletList('/bin/ls\n')).toThrow(/unexpected/);
    expect(() => parseAppletList('\n')).toThrow(/no applets/);
  });

  it('lists the applets through labvisor exec the same as through qemu', async () => {
    const viaQemu = await appletListFromQemu(DEFAULT_BUSYBOX);
    const viaLabvisor = await appletListFromLabvisor(DEFAULT_BUSYBOX);
    expect(viaLabvisor).toEqual(viaQemu);
    expect(viaQemu.length).toBeGreaterThan(200);
  });

  it('builds a 512 MiB image in seconds: e2fsck clean, busybox and the skeleton read back', async () => {
    const applets = await appletList(DEFAULT_BUSYBOX);
    expect(applets).toContain('sbin/init');
    expect(applets).toContain('bin/sh');
    const out = path.join(tmp, 'images', 'rootfs.ext4');
    const t0 = performance.now();
    const r = await buildImage({ busybox: DEFAULT_BUSYBOX, skeleton: DEFAULT_SKELETON, out, applets, now: NOW });
    const ms = performance.now() - t0;
    console.log(
      `buildImage: ${Math.round(ms)} ms, ${r.files} files, ${r.applets} applets, ${r.diskBytes} bytes on disk`,
    );
    expect(ms).toBeLessThan(20_000); // 1.5-2.5 s on an idle machine; generous for a loaded CI box
    expect(r.bytes).toBe(512 * MiB);
    expect(r.diskBytes).toBeLessThan(4 * MiB);
    expect(r.applets).toBe(applets.filter((a) => a !== 'bin/busybox').length);
    // Written atomically: nothing but the image is left in its directory.
    expect(fs.readdirSync(path.dirname(out))).toEqual(['rootfs.ext4']);
    expectClean(out);

    const bb = path.join(tmp, 'bb.out');
    debugfs(out, `dump /bin/busybox ${bb}`);
    expect(Buffer.compare(fs.readFileSync(bb), fs.readFileSync(DEFAULT_BUSYBOX))).toBe(0);
    expect(debugfs(out, 'stat /sbin/init')).toMatch(/Fast link dest: "\/bin\/busybox"/);
    expect(debugfs(out, 'cat /etc/inittab')).toBe(fs.readFileSync(path.join(DEFAULT_SKELETON, 'etc/inittab'), 'utf8'));
    expect(debugfs(out, 'cat /etc/hostname')).toBe('labvisor\n');
    expect(debugfs(out, 'stat /etc/init.d/rcS')).toMatch(/Mode:\s+0755/);
    expect(debugfs(out, 'stat /etc/shadow')).toMatch(/Mode:\s+0600/);
    expect(debugfs(out, 'stat /tmp')).toMatch(/Mode:\s+01777/);
    expect(debugfs(out, 'stat /root')).toMatch(/Mode:\s+0700/);
    expect(debugfs(out, 'stat /dev/console')).toMatch(/Device major\/minor number: 05:01/);
    expect(debugfs(out, 'stat /dev/null')).toMatch(/Device major\/minor number: 01:03/);
    for (const d of ['proc', 'sys', 'mnt', 'var', 'home', 'usr/bin', 'usr/sbin']) {
      expect(debugfs(out, `stat /${d}`)).toMatch(/Type: directory/);
    }
    expect(dumpHeader(out)['Filesystem volume name']).toBe('labvisor-root');
  });

  it('leaves no file behind when the build fails', async () => {
    const out = path.join(tmp, 'bad', 'rootfs.ext4');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    // A manifest error surfaces only after mkfs wrote the temporary image: it must be removed again.
    const skel = path.join(tmp, 'badskel');
    fs.mkdirSync(path.join(skel, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(skel, 'etc', 'hostname'), 'x\n');
    fs.writeFileSync(`${skel}.manifest`, 'bogus /x 0644 0 0\n');
    await expect(buildImage({ busybox: DEFAULT_BUSYBOX, skeleton: skel, out, applets: ['bin/sh'] })).rejects.toThrow(
      /unknown entry type 'bogus'/,
    );
    await expect(
      buildImage({
        busybox: path.join(DEFAULT_SKELETON, 'etc/passwd'),
        skeleton: DEFAULT_SKELETON,
        out,
        applets: ['bin/sh'],
      }),
    ).rejects.toThrow(/not a riscv64 ELF/);
    await expect(
      buildImage({ busybox: DEFAULT_BUSYBOX, skeleton: DEFAULT_SKELETON, out, applets: ['bin/sh'], sizeMiB: 1 }),
    ).rejects.toThrow(/out of range/);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(path.dirname(out))).toEqual([]);
  });
});
