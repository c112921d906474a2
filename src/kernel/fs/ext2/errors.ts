import { EINVAL, EIO, EUCLEAN } from '../../errno.js';

/**
 * The one error the ext2/ext4 reader throws: a clear message (as the kernel would log with
 * `EXT4-fs (dev): ...`) and the errno a system call should return.
 */
export class Ext2Error extends Error {
  override name = 'Ext2Error';
  constructor(
    message: string,
    readonly errno: number = EUCLEAN,
  ) {
    super(message);
  }
}

export const corrupt = (msg: string): Ext2Error => new Ext2Error(msg, EUCLEAN);
export const invalid = (msg: string): Ext2Error => new Ext2Error(msg, EINVAL);
export const ioError = (msg: string): Ext2Error => new Ext2Error(msg, EIO);
