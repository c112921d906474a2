/**
 * The default root image: a fresh ext4 (mkfs) holding the skeleton tree of images/busybox/ (plus its
 * manifest images/busybox.manifest for modes, empty directories and static /dev nodes), Debian's riscv64
 * busybox-static as /bin/busybox, and one symlink per applet where `busybox --install -s` would put it.
 * The image is written sparse into a temporary file next to `out` and renamed over it only once it mounts
 * and reads back, so a failed or interrupted build never leaves a half-made image under the final name.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXT2_ROOT_INO, S_IFLNK, S_IFMT, S_IFREG } from '../kernel/fs/ext2/disk_layout.js';
import { Ext2Fs } from '../kernel/fs/ext2/ext2fs.js';
import { mkfs } from '../kernel/fs/ext2/mkfs.js';
import { addDir, addFile, addSymlink, populate, resolvePath } from '../kernel/fs/ext2/populate.js';
import { SparseFileDevice } from './sparse_file_device.js';

/** The repository root (this file is src/images/build.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The skeleton and manifest of the default image. */
export const DEFAULT_SKELETON = path.join(REPO_ROOT, 'images', 'busybox');
/** Where `npm run guest` and scripts/fetch-busybox.sh put Debian's riscv64 busybox-static. */
export const DEFAULT_BUSYBOX = path.join(REPO_ROOT, 'build', 'guest', 'busybox');

export interface BuildImageOptions {
  /** Host path of the riscv64 busybox binary. */
  busybox: string;
  /** Host directory copied to the image root (images/busybox). */
  skeleton: string;
  /** Image file to write (replaced atomically). */
  out: string;
  /** Image size in MiB (default 512); the file is sparse, so unused space costs no disk. */
  sizeMiB?: number;
  /** `busybox --list-full` output lines ("bin/ls", "sbin/init", ...): see appletList(). */
  applets: string[];
  /** gen_init_cpio-style manifest; `<skeleton>.manifest` when it exists and this is absent. */
  manifest?: string;
  /** Volume label (default "labvisor-root"). */
  label?: string;
  /** Timestamps of everything in the image, seconds since the epoch (default: $SOURCE_DATE_EPOCH or now). */
  now?: number;
  /** Progress messages. */
  log?: (msg: string) => void;
}

export interface BuildImageResult {
  /** Image size in bytes (apparent size). */
  bytes: number;
  /** Inodes put into the image: files, directories, symlinks and device nodes. */
  files: number;
  /** Host disk space the sparse image uses. */
  diskBytes: number;
  /** Applet symlinks made. */
  applets: number;
  /** Wall time of the build. */
  ms: number;
}

const APPLET_PATH = /^(?:[A-Za-z0-9_.+[\]-]+\/)*[A-Za-z0-9_.+[\]-]+$/;

/** Parse `busybox --list-full` output into applet paths, refusing anything that could escape the image root. */
export function parseAppletList(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (!APPLET_PATH.test(line) || line.split('/').some((c) => c === '..' || c === '.')) {
      throw new Error(`unexpected line in busybox --list-full output: ${JSON.stringify(line)}`);
    }
    out.push(line);
  }
  if (out.length === 0) throw new Error('busybox --list-full printed no applets');
  return out;
}

function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, maxBuffer: 16 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}${stderr ? `\n${stderr}` : ''}`));
      else resolve(stdout);
    });
  });
}

function onPath(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** `qemu-riscv64-static <busybox> --list-full`: the applet list as Linux (under qemu) prints it. */
export async function appletListFromQemu(busybox: string): Promise<string[]> {
  const qemu = onPath('qemu-riscv64-static') ?? onPath('qemu-riscv64');
  if (!qemu) throw new Error('qemu-riscv64-static is not installed');
  return parseAppletList(await run(qemu, [busybox, '--list-full']));
}

/** The same list through our own emulator: `node bin/labvisor.js exec <busybox> --list-full`. */
export async function appletListFromLabvisor(busybox: string): Promise<string[]> {
  const cli = path.join(REPO_ROOT, 'bin', 'labvisor.js');
  return parseAppletList(await run(process.execPath, [cli, 'exec', path.resolve(busybox), '--list-full'], REPO_ROOT));
}

/** The applet list: qemu when installed (fast, the reference), otherwise labvisor itself. */
export async function appletList(busybox: string): Promise<string[]> {
  if (onPath('qemu-riscv64-static') ?? onPath('qemu-riscv64')) return appletListFromQemu(busybox);
  return appletListFromLabvisor(busybox);
}

/** A clear error unless `file` is a 64-bit little-endian RISC-V ELF executable. */
function checkRiscvElf(file: string, bytes: Uint8Array): void {
  const isElf = bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  const EM_RISCV = 243;
  if (!isElf || bytes[4] !== 2 || bytes[5] !== 1 || (bytes[18] | (bytes[19] << 8)) !== EM_RISCV) {
    throw new Error(`${file} is not a riscv64 ELF executable (run scripts/fetch-busybox.sh)`);
  }
}

function defaultNow(): number {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env && /^\d+$/.test(env)) return Number(env);
  return Math.floor(Date.now() / 1000);
}

/** Build the default busybox root image at `opts.out`. */
export async function buildImage(opts: BuildImageOptions): Promise<BuildImageResult> {
  const t0 = performance.now();
  const log = opts.log ?? ((): void => {});
  const sizeMiB = opts.sizeMiB ?? 512;
  if (!Number.isInteger(sizeMiB) || sizeMiB < 8 || sizeMiB > 1 << 20) {
    throw new Error(`image size ${sizeMiB} MiB is out of range (8 MiB .. 1 TiB)`);
  }
  const now = opts.now ?? defaultNow();
  const busybox = new Uint8Array(await fs.promises.readFile(opts.busybox));
  checkRiscvElf(opts.busybox, busybox);
  if (!fs.statSync(opts.skeleton).isDirectory()) throw new Error(`${opts.skeleton}: not a directory`);
  const skeleton = path.resolve(opts.skeleton);
  const manifestDefault = `${skeleton}.manifest`;
  const manifest = opts.manifest ?? (fs.existsSync(manifestDefault) ? manifestDefault : undefined);
  const applets = opts.applets;
  if (applets.length === 0) throw new Error('no busybox applets given (see appletList())');

  const out = path.resolve(opts.out);
  await fs.promises.mkdir(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  let dev: SparseFileDevice | null = null;
  try {
    dev = SparseFileDevice.create(tmp, sizeMiB * 1024 * 1024);
    const made = mkfs(dev, { label: opts.label ?? 'labvisor-root', now, assumeZeroed: true });
    log(`mkfs: ${made.blocks} blocks of ${made.blockSize}, ${made.inodes} inodes, ${made.groups} groups`);

    // The engine's clock is pinned too, so directories touched by later additions keep `now` as well.
    const fsw = Ext2Fs.mount(dev, { readOnly: false, log, now: () => now * 1000 });
    if (fsw.readOnly) throw new Error(`${tmp}: the fresh filesystem mounted read-only`);
    const st = populate(fsw, EXT2_ROOT_INO, skeleton, { manifest, now, modeMask: 0o022 });
    let files = st.files + st.dirs + st.symlinks + st.devices + 1;
    addDir(fsw, '/bin', 0o755, { time: now });
    addFile(fsw, '/bin/busybox', busybox, 0o755, { time: now });
    // One symlink per applet, to the absolute /bin/busybox as `busybox --install -s` makes them; an entry the
    // skeleton already has (a script standing in for an applet) wins.
    let nApplets = 0;
    for (const applet of applets) {
      if (applet === 'bin/busybox') continue;
      const dir = path.posix.dirname(applet);
      if (dir !== '.' && resolvePath(fsw, `/${dir}`, { followLast: true }) === 0) {
        addDir(fsw, `/${dir}`, 0o755, { time: now });
        files++;
      }
      if (resolvePath(fsw, `/${applet}`) !== 0) continue;
      addSymlink(fsw, `/${applet}`, '/bin/busybox', { time: now });
      nApplets++;
    }
    files += nApplets;
    fsw.unmount();
    dev.sync();
    dev.close();
    dev = null;

    verifyImage(tmp, busybox, applets);
    await fs.promises.rename(tmp, out);
    const stOut = fs.statSync(out);
    const result: BuildImageResult = {
      bytes: stOut.size,
      files,
      diskBytes: stOut.blocks * 512,
      applets: nApplets,
      ms: Math.round(performance.now() - t0),
    };
    log(
      `${out}: ${files} files, ${nApplets} applets, ${(result.diskBytes / 1024).toFixed(0)} KiB on disk, ${result.ms} ms`,
    );
    return result;
  } catch (e) {
    dev?.close();
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

/** Mount the new image read-only and check that busybox and the init path read back. */
function verifyImage(file: string, busybox: Uint8Array, applets: string[]): void {
  const dev = SparseFileDevice.open(file, { readOnly: true });
  try {
    const fsr = Ext2Fs.mount(dev, { readOnly: true });
    const ino = resolvePath(fsr, '/bin/busybox');
    if (ino === 0 || (fsr.readInode(ino).mode & S_IFMT) !== S_IFREG) throw new Error(`${file}: /bin/busybox missing`);
    const back = new Uint8Array(busybox.length);
    const n = fsr.read(ino, 0, back);
    if (n !== busybox.length || !back.every((b, i) => b === busybox[i])) {
      throw new Error(`${file}: /bin/busybox does not read back as written`);
    }
    if (applets.includes('sbin/init')) {
      const init = resolvePath(fsr, '/sbin/init');
      if (init === 0 || (fsr.readInode(init).mode & S_IFMT) !== S_IFLNK) throw new Error(`${file}: /sbin/init missing`);
    }
  } finally {
    dev.close();
  }
}

/**
 * Make sure Debian's riscv64 busybox-static is at `busybox`, fetching it with scripts/fetch-busybox.sh
 * (as `labvisor image build` does) when it is missing.
 */
export async function ensureBusybox(busybox: string, log: (msg: string) => void): Promise<void> {
  if (fs.existsSync(busybox)) return;
  log(`${busybox} is missing: fetching Debian's riscv64 busybox-static`);
  await new Promise<void>((resolve, reject) => {
    execFile(
      'bash',
      [path.join(REPO_ROOT, 'scripts', 'fetch-busybox.sh'), '--out', busybox],
      { timeout: 600_000, maxBuffer: 16 << 20 },
      (err, _stdout, stderr) => {
        if (err) {
          const tail = stderr.trim().split('\n').slice(-3).join('\n');
          reject(new Error(`could not fetch busybox (scripts/fetch-busybox.sh): ${tail || err.message}`));
        } else resolve();
      },
    );
  });
  if (!fs.existsSync(busybox)) throw new Error(`scripts/fetch-busybox.sh finished but ${busybox} is missing`);
}
