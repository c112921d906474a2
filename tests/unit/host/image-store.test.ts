// ImageStore (src/host/image-store.ts) with the image worker: the default busybox image is built (or an
// existing file adopted) at start; uploads are streamed, checked with our ext2 engine and accepted or
// rejected with a reason, never leaving a temporary file or a record behind; an image in use cannot go.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostError } from '../../../src/host/errors.js';
import { ImageStore } from '../../../src/host/image-store.js';
import { Store, type Logger } from '../../../src/host/store.js';
import { sha256File } from '../../../src/worker/image-worker.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const BUSYBOX = join(root, 'build', 'guest', 'busybox');
const tmp = mkdtempSync(join(tmpdir(), 'labvisor-images-'));
const quiet: Logger = { info() {}, warn() {}, error() {}, debug() {} };

/** `mke2fs -t <type> -d <tree>`: an image holding `files` (path → contents; mode 0755 for bin/ and sbin/). */
function mkImage(
  name: string,
  type: 'ext2' | 'ext3' | 'ext4',
  files: Record<string, string | Buffer>,
  opts: { size?: string; features?: string } = {},
): string {
  const tree = join(tmp, `${name}.d`);
  mkdirSync(tree, { recursive: true });
  for (const [p, data] of Object.entries(files)) {
    const f = join(tree, p);
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, data);
    chmodSync(f, /^s?bin\//.test(p) ? 0o755 : 0o644);
  }
  const img = join(tmp, `${name}.img`);
  const args = [
    '-q',
    '-F',
    '-t',
    type,
    ...(opts.features ? ['-O', opts.features] : []),
    '-d',
    tree,
    img,
    opts.size ?? '8M',
  ];
  const r = spawnSync('mke2fs', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mke2fs ${args.join(' ')}: ${r.stderr}`);
  return img;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A riscv64 program to stand in for /bin/sh (the real busybox when it was built, else a script). */
function shell(): Buffer {
  return existsSync(BUSYBOX) ? readFileSync(BUSYBOX) : Buffer.from('#!/bin/busybox sh\necho hi\n');
}

/** The stream a request body would be, in 64 KiB chunks. */
function upload(data: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let o = 0; o < data.length; o += 65536) chunks.push(data.subarray(o, o + 65536));
  return Readable.from(chunks);
}

describe('ImageStore', () => {
  let dataDir: string;
  let store: Store;
  let images: ImageStore;

  beforeAll(async () => {
    dataDir = join(tmp, 'data');
    store = await Store.open({ dataDir, databaseUrl: `file:${join(dataDir, 'labvisor.db')}` });
    images = new ImageStore({ dataDir, store, log: quiet });
  });

  afterAll(async () => {
    await store?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** The images directory holds exactly these image files and nothing half-made. */
  function expectFiles(names: string[]): void {
    expect(readdirSync(join(dataDir, 'images')).sort()).toEqual(names.map((n) => `${n}.ext4`).sort());
  }

  async function rejected(name: string, data: Buffer | Readable, maxBytes = 1 << 30): Promise<HostError> {
    const before = readdirSync(join(dataDir, 'images')).sort();
    const e = await images.importStream(name, Buffer.isBuffer(data) ? upload(data) : data, { maxBytes }, 'tester').then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(HostError);
    expect(await store.getImage(name)).toBeNull();
    expect(readdirSync(join(dataDir, 'images')).sort()).toEqual(before);
    return e as HostError;
  }

  it('builds the default busybox image on first start and records it', async () => {
    mkdirSync(join(dataDir, 'images'), { recursive: true });
    writeFileSync(join(dataDir, 'images', '.incoming-leftover'), 'from a crash'); // cleared at start
    await images.ensureDefault();
    const v = await images.get('busybox');
    expect(v).toMatchObject({
      name: 'busybox',
      format: 'ext4',
      source: 'built',
      sizeBytes: 512 * 1024 * 1024,
      usedBy: 0,
    });
    expect(v.sha256).toBe(await sha256File(images.path('busybox')));
    expectFiles(['busybox']);
    const ev = await store.listEvents({ subject: 'image', limit: 10 });
    expect(ev.map((e) => [e.kind, e.subjectId, e.actor])).toEqual([['built', v.id, 'system']]);

    await images.ensureDefault(); // already there: nothing happens
    expect((await store.listEvents({ subject: 'image', limit: 10 })).length).toBe(1);
    const e = await images.buildDefault('busybox', 'tester').then(
      () => null,
      (err: unknown) => err as HostError,
    );
    expect([e?.status, e?.code]).toEqual([409, 'name-taken']);
  }, 300_000);

  it('adopts an existing image file (from `labvisor image build`) at start', async () => {
    const other = join(tmp, 'adopt');
    mkdirSync(join(other, 'images'), { recursive: true });
    linkSync(images.path('busybox'), join(other, 'images', 'busybox.ext4'));
    const s2 = await Store.open({ dataDir: other, databaseUrl: `file:${join(other, 'labvisor.db')}` });
    try {
      const i2 = new ImageStore({ dataDir: other, store: s2, log: quiet });
      await i2.ensureDefault();
      const v = await i2.get('busybox');
      expect(v.sha256).toBe((await images.get('busybox')).sha256);
      expect(v.source).toBe('built');
      expect((await s2.listEvents({ subject: 'image', limit: 5 })).map((e) => e.kind)).toEqual(['adopted']);
    } finally {
      await s2.close();
    }
  }, 120_000);

  it('imports a valid ext4 image with /bin/sh: streamed, hashed, checked, recorded', async () => {
    const img = readFileSync(mkImage('good', 'ext4', { 'bin/sh': shell(), 'etc/motd': 'hello\n' }));
    const v = await images.importStream('good-1', upload(img), { maxBytes: 64 << 20 }, 'tester');
    expect(v).toMatchObject({ name: 'good-1', format: 'ext4', source: 'imported', sizeBytes: img.length, usedBy: 0 });
    expect(v.sha256).toBe(sha(img));
    expect(readFileSync(images.path('good-1')).equals(img)).toBe(true);
    expectFiles(['busybox', 'good-1']);
    expect((await images.list()).map((i) => i.name)).toEqual(['busybox', 'good-1']);
    const ev = (await store.listEvents({ subject: 'image', limit: 1 }))[0]!;
    expect(ev).toMatchObject({ kind: 'imported', subjectId: v.id, actor: 'tester' });
    expect(ev.message).toContain('init /bin/sh');

    const dup = await images.importStream('good-1', upload(img), { maxBytes: 64 << 20 }, 'tester').then(
      () => null,
      (x: unknown) => x as HostError,
    );
    expect([dup?.status, dup?.code]).toEqual([409, 'name-taken']);
    expectFiles(['busybox', 'good-1']);
  });

  it('lets only one of two simultaneous uploads under one name through', async () => {
    const img = readFileSync(mkImage('twice', 'ext4', { 'bin/sh': shell() }));
    const results = await Promise.allSettled([
      images.importStream('twice', upload(img), { maxBytes: 64 << 20 }, 'a'),
      images.importStream('twice', upload(img), { maxBytes: 64 << 20 }, 'b'),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const no = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect([no.reason.status, no.reason.code]).toEqual([409, 'name-taken']);
    expect(readdirSync(join(dataDir, 'images')).filter((f) => f.startsWith('.'))).toEqual([]);
    await images.delete('twice', 'tester');
  });

  it('names ext2 and ext3 images by their features', async () => {
    const e2 = readFileSync(mkImage('e2', 'ext2', { 'sbin/init': '#!/bin/sh\n', 'bin/sh': shell() }));
    const e3 = readFileSync(mkImage('e3', 'ext3', { 'sbin/init': '#!/bin/sh\n' }));
    expect((await images.importStream('e2', upload(e2), { maxBytes: 64 << 20 }, 't')).format).toBe('ext2');
    expect((await images.importStream('e3', upload(e3), { maxBytes: 64 << 20 }, 't')).format).toBe('ext3');
  });

  it('rejects random bytes', async () => {
    const e = await rejected('random', randomBytes(1 << 20));
    expect([e.status, e.code]).toEqual([422, 'bad-image']);
    expect(e.message).toMatch(/^image 'random' was rejected: not an ext2\/ext3\/ext4 filesystem \(.*bad magic/);
  });

  it('rejects a truncated image', async () => {
    const img = readFileSync(mkImage('trunc', 'ext4', { 'bin/sh': shell() }));
    const e = await rejected('truncated', img.subarray(0, img.length / 2));
    expect([e.status, e.code]).toEqual([422, 'bad-image']);
    expect(e.message).toMatch(/the image is truncated \(.*exceeds size of device/);
    const odd = await rejected('odd-size', img.subarray(0, img.length - 100));
    expect(odd.message).toMatch(/not a whole number of 512-byte sectors/);
  });

  it('rejects an image whose superblock magic is wrong', async () => {
    const img = Buffer.from(readFileSync(mkImage('magic', 'ext2', { 'bin/sh': shell() })));
    img.writeUInt16LE(0x1234, 1024 + 0x38);
    const e = await rejected('bad-magic', img);
    expect([e.status, e.code]).toEqual([422, 'bad-image']);
    expect(e.message).toMatch(/not an ext2\/ext3\/ext4 filesystem \(.*bad magic 0x1234/);
  });

  it('rejects an ext4 image with no /sbin/init or /bin/sh', async () => {
    const img = readFileSync(mkImage('noinit', 'ext4', { 'etc/hostname': 'x\n', 'bin/ls': shell() }));
    const e = await rejected('no-init', img);
    expect([e.status, e.code]).toEqual([422, 'bad-image']);
    expect(e.message).toBe("image 'no-init' was rejected: image has no /sbin/init or /bin/sh: it cannot boot");
  });

  it('rejects an image whose init is a program for another machine', async () => {
    const img = readFileSync(mkImage('x86', 'ext4', { 'bin/sh': readFileSync('/bin/true') }));
    const e = await rejected('x86', img);
    expect(e.message).toMatch(/cannot boot \(\/bin\/sh is an ELF program for (x86-64|AArch64), not riscv64\)/);
  });

  it('rejects an image whose journal needs recovery', async () => {
    // Without metadata_csum the superblock has no checksum, so setting needs_recovery is all it takes.
    const img = Buffer.from(
      readFileSync(mkImage('dirty', 'ext4', { 'bin/sh': shell() }, { features: '^metadata_csum' })),
    );
    img.writeUInt32LE(img.readUInt32LE(1024 + 0x60) | 0x4, 1024 + 0x60);
    const e = await rejected('dirty', img);
    expect([e.status, e.code]).toEqual([422, 'bad-image']);
    expect(e.message).toMatch(/journal needs recovery .* run `e2fsck -fy`/);
  });

  it('answers every corrupted image with acceptance or a 422 saying what is wrong, never a crash', async () => {
    const tree: Record<string, string | Buffer> = { 'bin/sh': shell(), 'sbin/init': shell() };
    for (let i = 0; i < 100; i++) tree[`etc/d${i % 10}/f${i}`] = `${i}\n`;
    let seed = 0x5eed;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const reasons: string[] = [];
    for (const type of ['ext4', 'ext2'] as const) {
      const good = readFileSync(mkImage(`fuzz-${type}`, type, tree));
      for (let round = 0; round < 6; round++) {
        const img = Buffer.from(good);
        // Past the superblock (whose checksum alone would catch everything on ext4): descriptors,
        // bitmaps, inode tables and directory blocks of the first MiB.
        for (let k = 0; k < 200; k++) img[2048 + rand(1022 * 1024)] = rand(256);
        const name = `fuzz-${type}-${round}`;
        const r = await images.importStream(name, upload(img), { maxBytes: 64 << 20 }, 'fuzzer').then(
          () => null,
          (e: unknown) => e,
        );
        if (r === null) {
          await images.delete(name, 'fuzzer');
          continue;
        }
        expect(r).toBeInstanceOf(HostError);
        expect([(r as HostError).status, (r as HostError).code]).toEqual([422, 'bad-image']);
        reasons.push((r as HostError).message);
      }
    }
    expect(reasons.length).toBeGreaterThan(0);
    for (const m of reasons) {
      expect(m).toMatch(
        /^image 'fuzz-ext[24]-\d' was rejected: (directory \/|its root directory|\/.* \(inode \d+\)|the filesystem|image has no)/,
      );
    }
    expect(readdirSync(join(dataDir, 'images')).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('rejects an empty upload', async () => {
    const e = await rejected('empty', Buffer.alloc(0));
    expect(e.message).toBe("image 'empty' was rejected: the image is empty");
  });

  it('answers 413 past the size cap and keeps nothing', async () => {
    const img = readFileSync(mkImage('big', 'ext4', { 'bin/sh': shell() }));
    const body = upload(img);
    const e = await rejected('too-big', body, 1 << 20);
    expect([e.status, e.code]).toEqual([413, 'too-large']);
    expect(e.message).toBe('the image is larger than the limit of 1048576 bytes (1.0 MiB)');
    expect(body.isPaused()).toBe(true); // left for the caller to close, not read to the end
  });

  it('refuses invalid names before reading anything', async () => {
    for (const bad of ['', 'Upper', '../x', '.hidden', 'a/b', 'x'.repeat(64)]) {
      const err = await images.importStream(bad, upload(Buffer.alloc(4096)), { maxBytes: 1 << 20 }, 't').then(
        () => null,
        (x: unknown) => x as HostError,
      );
      expect([err?.status, err?.code]).toEqual([400, 'invalid']);
    }
    expect(readdirSync(join(dataDir, 'images')).some((f) => f.startsWith('.'))).toBe(false);
  });

  it('deletes an image only while no machine uses it', async () => {
    const img = readFileSync(mkImage('del', 'ext4', { 'bin/sh': shell() }));
    const v = await images.importStream('del', upload(img), { maxBytes: 64 << 20 }, 'tester');
    const m = await store.createMachine({
      id: 'm-del',
      name: 'uses-del',
      image: 'del',
      memMiB: 64,
      vcpus: 1,
      cmdline: '',
      init: '',
      state: 'stopped',
      lastExit: null,
      bootCount: 0,
    });
    expect((await images.get('del')).usedBy).toBe(1);
    const e = await images.delete('del', 'tester').then(
      () => null,
      (x: unknown) => x as HostError,
    );
    expect([e?.status, e?.code, e?.message]).toEqual([
      409,
      'image-in-use',
      "image 'del' is the base of 1 machine; delete it first",
    ]);
    expect(existsSync(images.path('del'))).toBe(true);

    await store.deleteMachine(m.id);
    await images.delete(v.id, 'tester');
    expect(await store.getImage('del')).toBeNull();
    expect(existsSync(images.path('del'))).toBe(false);
    expect((await store.listEvents({ subject: 'image', subjectId: v.id, limit: 1 }))[0]).toMatchObject({
      kind: 'deleted',
      actor: 'tester',
    });
    const gone = await images.delete('del', 'tester').then(
      () => null,
      (x: unknown) => x as HostError,
    );
    expect([gone?.status, gone?.code]).toEqual([404, 'not-found']);
  });
});
