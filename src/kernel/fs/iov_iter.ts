import { EFAULT } from '../errno.js';
import type { MmStruct } from '../mm/mm_struct.js';
import { clearUser, copyFromUser, copyToUser } from '../mm/uaccess.js';

/**
 * The source or destination of a read/write (struct iov_iter, lib/iov_iter.c): user memory
 * as one or more (address, length) segments (ITER_UBUF/ITER_IOVEC), or a kernel buffer
 * (ITER_KVEC). Drivers move data with copyTo/copyFrom/zero and never touch user pointers
 * themselves, so one read_iter serves read, readv, pread, sendfile and mmap's page-in.
 */
export class IovIter {
  private seg = 0;
  private segOff = 0;
  /** Bytes still to move. */
  count: number;

  private constructor(
    private readonly mm: MmStruct | null,
    private readonly bases: number[],
    private readonly lens: number[],
    private readonly kbuf: Uint8Array | null,
  ) {
    let n = 0;
    for (const l of lens) n += l;
    this.count = n;
  }

  /** One user buffer (import_ubuf). */
  static user(mm: MmStruct, va: number, len: number): IovIter {
    return new IovIter(mm, [va], [len], null);
  }

  /** A user iovec array already read and checked (import_iovec). */
  static userVec(mm: MmStruct, bases: number[], lens: number[]): IovIter {
    return new IovIter(mm, bases, lens, null);
  }

  /** A kernel buffer (iov_iter_kvec). */
  static kernel(buf: Uint8Array): IovIter {
    return new IovIter(null, [0], [buf.length], buf);
  }

  get isUser(): boolean {
    return this.kbuf === null;
  }

  /**
   * copy_to_iter: put `data` (or as much as fits) into the destination. Returns bytes
   * copied; -EFAULT when a user segment is bad and nothing was copied.
   */
  copyTo(data: Uint8Array): number {
    let done = 0;
    let want = Math.min(data.length, this.count);
    while (want > 0 && this.seg < this.lens.length) {
      const room = this.lens[this.seg]! - this.segOff;
      if (room === 0) {
        this.seg++;
        this.segOff = 0;
        continue;
      }
      const n = Math.min(room, want);
      const chunk = n === data.length && done === 0 ? data : data.subarray(done, done + n);
      if (this.kbuf) {
        this.kbuf.set(chunk, this.bases[this.seg]! + this.segOff);
      } else if (copyToUser(this.mm!, this.bases[this.seg]! + this.segOff, chunk) < 0) {
        return done > 0 ? done : -EFAULT;
      }
      this.advance(n);
      done += n;
      want -= n;
    }
    return done;
  }

  /** iov_iter_zero: write `n` zero bytes (reads of /dev/zero, holes). */
  zero(n: number): number {
    let done = 0;
    let want = Math.min(n, this.count);
    while (want > 0 && this.seg < this.lens.length) {
      const room = this.lens[this.seg]! - this.segOff;
      if (room === 0) {
        this.seg++;
        this.segOff = 0;
        continue;
      }
      const k = Math.min(room, want);
      const at = this.bases[this.seg]! + this.segOff;
      if (this.kbuf) this.kbuf.fill(0, at, at + k);
      else if (clearUser(this.mm!, at, k) < 0) return done > 0 ? done : -EFAULT;
      this.advance(k);
      done += k;
      want -= k;
    }
    return done;
  }

  /**
   * copy_from_iter: take up to `n` bytes from the source. For one segment this is a single
   * copyFromUser (a kernel source returns a view, not a copy: consumers copy what they keep).
   * Returns -EFAULT when a user segment is bad and nothing was taken.
   */
  copyFrom(n: number): Uint8Array | number {
    let want = Math.min(n, this.count);
    if (want === 0) return new Uint8Array(0);
    const room0 = this.lens[this.seg]! - this.segOff;
    if (room0 >= want) {
      // Common case: all from the current segment.
      const at = this.bases[this.seg]! + this.segOff;
      let out: Uint8Array | number;
      if (this.kbuf) out = this.kbuf.subarray(at, at + want);
      else out = copyFromUser(this.mm!, at, want);
      if (typeof out === 'number') return out;
      this.advance(want);
      return out;
    }
    const out = new Uint8Array(want);
    let done = 0;
    while (want > 0 && this.seg < this.lens.length) {
      const room = this.lens[this.seg]! - this.segOff;
      if (room === 0) {
        this.seg++;
        this.segOff = 0;
        continue;
      }
      const k = Math.min(room, want);
      const at = this.bases[this.seg]! + this.segOff;
      if (this.kbuf) out.set(this.kbuf.subarray(at, at + k), done);
      else {
        const part = copyFromUser(this.mm!, at, k);
        if (typeof part === 'number') return done > 0 ? out.subarray(0, done) : part;
        out.set(part, done);
      }
      this.advance(k);
      done += k;
      want -= k;
    }
    return out.subarray(0, done);
  }

  private advance(n: number): void {
    this.segOff += n;
    this.count -= n;
    while (this.seg < this.lens.length && this.segOff >= this.lens[this.seg]!) {
      this.segOff -= this.lens[this.seg]!;
      this.seg++;
    }
  }
}
