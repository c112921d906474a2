/**
 * The image worker: CPU-bound image work the server must not do on its event loop. One job per worker
 * (workerData: ImageJob), answered with messages (ImageWorkerMessage):
 *  - `check`: is this file an ext2/ext3/ext4 image a machine can boot? Mounts it with our own ext2
 *    engine (the one the guest kernel uses, so "accepted" means "our kernel can mount it read-write"),
 *    reads the root directory and looks for an init; optionally hashes it.
 *  - `build`: the default busybox image, as `labvisor image build` makes it (src/images/build.ts), fetching
 *    busybox with scripts/fetch-busybox.sh when it is missing; then checked and hashed like an upload.
 * The host (src/host/image-store.ts) never imports the kernel: this file is where the two meet.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { SECTOR_SIZE, type BlockDevice } from '../kernel/fs/ext2/block_device.js';
import {
  COMPAT_HAS_JOURNAL,
  EXT2_ROOT_INO,
  INCOMPAT_FILETYPE,
  INCOMPAT_META_BG,
  INCOMPAT_RECOVER,
  RO_COMPAT_BTREE_DIR,
  RO_COMPAT_LARGE_FILE,
  RO_COMPAT_SPARSE_SUPER,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
} from '../kernel/fs/ext2/disk_layout.js';
import { Ext2Fs } from '../kernel/fs/ext2/ext2fs.js';
import { resolvePath } from '../kernel/fs/ext2/populate.js';
import { DEFAULT_BUSYBOX, DEFAULT_SKELETON, appletList, buildImage, ensureBusybox } from '../images/build.js';
import { SparseFileDevice } from '../images/sparse_file_device.js';

export type ImageFormat = 'ext2' | 'ext3' | 'ext4';

export type ImageJob =
  { op: 'check'; file: string; hash: boolean } | { op: 'build'; out: string; busybox?: string; sizeMiB?: number };

export type ImageJobResult =
  | { ok: true; format: ImageFormat; sizeBytes: number; sha256: string | null; init: string; warnings: string[] }
  | { ok: false; reason: string };

export type ImageWorkerMessage = { type: 'log'; msg: string } | { type: 'result'; result: ImageJobResult };

/** Where the kernel looks for init when the command line names none (init/main.c), in its order. */
const INIT_CANDIDATES = ['/sbin/init', '/etc/init', '/bin/init', '/bin/sh'];
const EM_RISCV = 243;
const ELF_MACHINES: Record<number, string> = {
  3: 'i386',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  40: 'ARM',
  62: 'x86-64',
  183: 'AArch64',
};

/**
 * A copy-on-write view of a read-only device: writes land in memory. Mounting read-write through it
 * asks the engine itself whether it would keep the filesystem writable (journal needing recovery,
 * unknown ro_compat features, error state, bad descriptor checksums), without touching the file.
 */
class ProbeDevice implements BlockDevice {
  readonly sectors: number;
  private readonly written = new Map<number, Uint8Array>();
  constructor(private readonly base: BlockDevice) {
    this.sectors = base.sectors;
  }
  readBlocks(lba: number, count: number): Uint8Array {
    const data = this.base.readBlocks(lba, count);
    if (this.written.size > 0) {
      for (let s = 0; s < count; s++) {
        const w = this.written.get(lba + s);
        if (w) data.set(w, s * SECTOR_SIZE);
      }
    }
    return data;
  }
  writeBlocks(lba: number, data: Uint8Array): void {
    for (let s = 0; s * SECTOR_SIZE < data.length; s++) {
      this.written.set(lba + s, data.slice(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE));
    }
  }
}

/** ext2, ext3 or ext4, as blkid names a filesystem from its feature flags. */
export function formatOf(featureCompat: number, featureIncompat: number, featureRoCompat: number): ImageFormat {
  const ext3Incompat = INCOMPAT_FILETYPE | INCOMPAT_RECOVER | INCOMPAT_META_BG;
  const ext3RoCompat = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_BTREE_DIR;
  if (featureIncompat & ~ext3Incompat || featureRoCompat & ~ext3RoCompat) return 'ext4';
  return featureCompat & COMPAT_HAS_JOURNAL ? 'ext3' : 'ext2';
}

export class BadImage extends Error {
  override name = 'BadImage';
}

/**
 * Check `file` as a machine's root disk. Returns its format, the init the kernel would run and
 * warnings; throws BadImage with a reason a user can act on.
 */
export function inspectImage(file: string): {
  format: ImageFormat;
  sizeBytes: number;
  init: string;
  warnings: string[];
} {
  const size = fs.statSync(file).size;
  if (size === 0) throw new BadImage('the image is empty');
  if (size < 2048) throw new BadImage(`the file is ${size} bytes: too small to hold an ext2/ext3/ext4 superblock`);
  if (size % SECTOR_SIZE !== 0) {
    throw new BadImage(`its size (${size} bytes) is not a whole number of 512-byte sectors: is the upload truncated?`);
  }
  const dev = SparseFileDevice.open(file, { readOnly: true });
  try {
    const log: string[] = [];
    let fsys: Ext2Fs;
    try {
      fsys = Ext2Fs.mount(new ProbeDevice(dev), { readOnly: false, log: (m) => log.push(m) });
    } catch (e) {
      const msg = (e as Error).message;
      if (/bad magic|too small/.test(msg)) throw new BadImage(`not an ext2/ext3/ext4 filesystem (${msg})`);
      if (/exceeds size of device/.test(msg)) throw new BadImage(`the image is truncated (${msg})`);
      throw new BadImage(`the filesystem cannot be mounted: ${msg}`);
    }
    const { sb } = fsys.info;
    if (fsys.needsRecovery) {
      // Our kernel does not replay journals: it would mount the filesystem read-only, as it was before the
      // crash that left the journal dirty, and every machine would see a stale, possibly inconsistent tree.
      throw new BadImage(
        'its journal needs recovery (the filesystem was not cleanly unmounted); run `e2fsck -fy` on it and upload it again',
      );
    }
    if (fsys.readOnly) {
      throw new BadImage(
        `machines could only mount it read-only: ${log.join('; ').replace(/^EXT4-fs \([^)]*\): /, '') || 'unsupported features'}`,
      );
    }
    const format = formatOf(sb.featureCompat, sb.featureIncompat, sb.featureRoCompat);
    const warnings = log.filter((m) => /warning/i.test(m));

    try {
      const root = fsys.readInode(EXT2_ROOT_INO);
      if ((root.mode & S_IFMT) !== S_IFDIR) throw new Error('inode 2 is not a directory');
      fsys.readdir(EXT2_ROOT_INO);
    } catch (e) {
      throw new BadImage(`its root directory cannot be read: ${(e as Error).message}`);
    }
    walkTree(fsys);

    const problems: string[] = [];
    let init = '';
    for (const p of INIT_CANDIDATES) {
      let ino = 0;
      try {
        ino = resolvePath(fsys, p, { followLast: true });
      } catch (e) {
        problems.push(`${p}: ${(e as Error).message}`);
        continue;
      }
      if (ino === 0) continue;
      try {
        const inode = fsys.readInode(ino);
        if ((inode.mode & S_IFMT) !== S_IFREG) {
          problems.push(`${p} is not a regular file`);
          continue;
        }
        if ((inode.mode & 0o111) === 0) {
          problems.push(`${p} is not executable`);
          continue;
        }
        const head = fsys.readFile(ino, 0, 20);
        const isElf = head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
        const machine = head.length >= 20 ? head[18]! | (head[19]! << 8) : -1;
        if (isElf && machine !== EM_RISCV) {
          problems.push(`${p} is an ELF program for ${ELF_MACHINES[machine] ?? `machine ${machine}`}, not riscv64`);
          continue;
        }
        init = p;
        break;
      } catch (e) {
        problems.push(`${p} cannot be read: ${(e as Error).message}`);
      }
    }
    if (!init) {
      throw new BadImage(
        `image has no /sbin/init or /bin/sh: it cannot boot${problems.length ? ` (${problems.join('; ')})` : ''}`,
      );
    }
    return { format, sizeBytes: size, init, warnings };
  } finally {
    dev.close();
  }
}

/** Directories and inodes visited at most (a bound on the time a check takes, not on image size). */
const WALK_LIMIT = 1_000_000;

/**
 * Read every directory and every inode they name, as `ls -lR /` in a machine would: a tree our
 * kernel cannot walk (bad checksums, entries past the inode table, unreadable blocks) is refused now,
 * not found later by a guest as EUCLEAN. File contents are not read.
 */
function walkTree(fsys: Ext2Fs): void {
  const seen = new Set<number>([EXT2_ROOT_INO]);
  const queue: Array<[number, string]> = [[EXT2_ROOT_INO, '']];
  let visited = 0;
  while (queue.length > 0) {
    const [dirIno, dirPath] = queue.shift()!;
    let entries;
    try {
      entries = fsys.readdir(dirIno);
    } catch (e) {
      throw new BadImage(`directory ${dirPath || '/'} cannot be read: ${(e as Error).message}`);
    }
    for (const e of entries) {
      if (e.name === '.' || e.name === '..') continue;
      if (++visited > WALK_LIMIT) return;
      const p = `${dirPath}/${e.name}`;
      let mode: number;
      try {
        mode = fsys.readInode(e.ino).mode;
      } catch (err) {
        throw new BadImage(`${p} (inode ${e.ino}) cannot be read: ${(err as Error).message}`);
      }
      // A directory reached twice is a hard-linked directory (a corrupt tree); walking it again could loop.
      if ((mode & S_IFMT) === S_IFDIR && !seen.has(e.ino)) {
        seen.add(e.ino);
        queue.push([e.ino, p]);
      }
    }
  }
}

/** sha256 hex of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function runJob(job: ImageJob, log: (msg: string) => void): Promise<ImageJobResult> {
  if (job.op === 'check') {
    try {
      const r = inspectImage(job.file);
      return { ok: true, ...r, sha256: job.hash ? await sha256File(job.file) : null };
    } catch (e) {
      // Anything the checker trips over (also an engine bug on a strange image) rejects the image.
      return {
        ok: false,
        reason: e instanceof BadImage ? e.message : `the image cannot be read: ${(e as Error).message}`,
      };
    }
  }
  try {
    const busybox = job.busybox ?? DEFAULT_BUSYBOX;
    await ensureBusybox(busybox, log);
    const applets = await appletList(busybox);
    await buildImage({
      busybox,
      skeleton: DEFAULT_SKELETON,
      out: job.out,
      ...(job.sizeMiB !== undefined ? { sizeMiB: job.sizeMiB } : {}),
      applets,
      log,
    });
    const r = inspectImage(job.out);
    return { ok: true, ...r, sha256: await sha256File(job.out) };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

if (parentPort && (workerData as { op?: unknown } | null)?.op) {
  const port = parentPort;
  const post = (m: ImageWorkerMessage): void => port.postMessage(m);
  const result = await runJob(workerData as ImageJob, (msg) => post({ type: 'log', msg }));
  post({ type: 'result', result });
}
