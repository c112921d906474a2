import { randomFillSync } from 'node:crypto';
import { ENOSPC } from '../errno.js';
import { registerChrdev } from '../fs/char_dev.js';
import type { File, FileOperations, Kiocb } from '../fs/file.js';
import type { IovIter } from '../fs/iov_iter.js';
import { makeDev } from '../fs/super.js';

/**
 * The memory character devices of major 1 (drivers/char/mem.c): /dev/null, /dev/zero,
 * /dev/full, and /dev/random + /dev/urandom (drivers/char/random.c, both non-blocking as
 * since Linux 5.6 once the pool is initialised; ours is the host's CSPRNG).
 */
export const MEM_MAJOR = 1;
export const NULL_MINOR = 3;
export const ZERO_MINOR = 5;
export const FULL_MINOR = 7;
export const RANDOM_MINOR = 8;
export const URANDOM_MINOR = 9;

/** Chunk size for random reads: one host CSPRNG call per chunk. */
const RANDOM_CHUNK = 65536;

/** null_lseek / noop: these devices have no position worth keeping. */
function zeroLseek(file: File): number {
  file.pos = 0;
  return 0;
}

/** write_null: accept everything without looking at it (even a bad pointer, as Linux does). */
function writeNull(_iocb: Kiocb, from: IovIter): number {
  const n = from.count;
  from.count = 0;
  return n;
}

export const nullFops: FileOperations = {
  readIter: () => 0,
  writeIter: writeNull,
  llseek: zeroLseek,
};

/** read_iter_zero: the destination is cleared in place, never through a buffer. */
function readZero(_iocb: Kiocb, to: IovIter): number {
  return to.zero(to.count);
}

export const zeroFops: FileOperations = {
  readIter: readZero,
  writeIter: writeNull,
  llseek: zeroLseek,
};

export const fullFops: FileOperations = {
  readIter: readZero,
  writeIter: () => -ENOSPC,
  llseek: zeroLseek,
};

function readRandom(_iocb: Kiocb, to: IovIter): number {
  let done = 0;
  const buf = new Uint8Array(Math.min(to.count, RANDOM_CHUNK));
  while (to.count > 0) {
    const chunk = buf.length <= to.count ? buf : buf.subarray(0, to.count);
    randomFillSync(chunk);
    const r = to.copyTo(chunk);
    if (r < 0) return done > 0 ? done : r;
    done += r;
    if (r < chunk.length) break;
  }
  return done;
}

export const randomFops: FileOperations = {
  readIter: readRandom,
  // Writing to the pool mixes entropy in; we accept and ignore it (no crediting either way).
  writeIter: writeNull,
  llseek: zeroLseek,
};

let registered = false;

/** chr_dev_init: register the major-1 devices once. */
export function chrDevInit(): void {
  if (registered) return;
  registered = true;
  registerChrdev(MEM_MAJOR, NULL_MINOR, 1, 'null', nullFops);
  registerChrdev(MEM_MAJOR, ZERO_MINOR, 1, 'zero', zeroFops);
  registerChrdev(MEM_MAJOR, FULL_MINOR, 1, 'full', fullFops);
  registerChrdev(MEM_MAJOR, RANDOM_MINOR, 1, 'random', randomFops);
  registerChrdev(MEM_MAJOR, URANDOM_MINOR, 1, 'urandom', randomFops);
}

/** The /dev nodes a minimal /dev holds: name, minor (the `devlist` table of mem.c). */
export const memDevList: { name: string; minor: number; mode: number }[] = [
  { name: 'null', minor: NULL_MINOR, mode: 0o666 },
  { name: 'zero', minor: ZERO_MINOR, mode: 0o666 },
  { name: 'full', minor: FULL_MINOR, mode: 0o666 },
  { name: 'random', minor: RANDOM_MINOR, mode: 0o666 },
  { name: 'urandom', minor: URANDOM_MINOR, mode: 0o666 },
];

export function memDev(minor: number): number {
  return makeDev(MEM_MAJOR, minor);
}
