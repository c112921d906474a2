import type { File, FileOperations, Kiocb } from '../file.js';
import type { IovIter } from '../iov_iter.js';

/**
 * A read-only proc file whose whole text is generated on each read (seq_file with
 * single_open): the bytes from iocb.pos on are copied out.
 */
export function seqFops(gen: (file: File) => Uint8Array | string | number): FileOperations {
  return {
    readIter(iocb: Kiocb, to: IovIter): number {
      const g = gen(iocb.file);
      if (typeof g === 'number') return g;
      const bytes = typeof g === 'string' ? new TextEncoder().encode(g) : g;
      if (iocb.pos >= bytes.length || to.count === 0) return 0;
      const r = to.copyTo(bytes.subarray(iocb.pos, Math.min(bytes.length, iocb.pos + to.count)));
      if (r > 0) iocb.pos += r;
      return r;
    },
  };
}
