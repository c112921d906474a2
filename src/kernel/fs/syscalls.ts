import * as N from '../syscall/numbers.js';
import type { SyscallTable } from '../syscall/types.js';
import { sysGetcwd } from './d_path.js';
import { sysDup, sysDup3, sysFcntl } from './fcntl.js';
import { sysIoctl } from './ioctl.js';
import { sysLinkat, sysMkdirat, sysMknodat, sysRenameat2, sysSymlinkat, sysUnlinkat } from './namei_syscalls.js';
import {
  sysChdir,
  sysChroot,
  sysClose,
  sysCloseRange,
  sysFaccessat,
  sysFaccessat2,
  sysFchdir,
  sysFchmod,
  sysFadvise64,
  sysFallocate,
  sysFchmodat,
  sysFchmodat2,
  sysReadahead,
  sysFchown,
  sysFchownat,
  sysFtruncate,
  sysOpenat,
  sysOpenat2,
  sysTruncate,
  sysUmask,
} from './open.js';
import {
  sysCopyFileRange,
  sysLseek,
  sysPread64,
  sysPreadv2,
  sysPwritev2,
  sysPreadv,
  sysPwrite64,
  sysPwritev,
  sysRead,
  sysReadv,
  sysSendfile,
  sysWrite,
  sysWritev,
} from './read_write.js';
import { sysGetdents64 } from './readdir.js';
import { sysPipe2 } from './pipe.js';
import { sysPpoll } from './select.js';
import { sysFstat, sysNewfstatat, sysReadlinkat, sysStatx } from './stat.js';
import { sysFstatfs, sysStatfs } from './statfs.js';
import { sysFdatasync, sysFsync, sysSync, sysSyncFileRange, sysSyncfs } from './sync.js';
import { sysFlock } from './locks.js';
import { sysMount, sysUmount2 } from './namespace.js';
import * as X from './xattr.js';
import { sysUtimensat } from './utimes.js';

/**
 * The file-system part of the system-call table (what fs/*.c contribute to
 * sys_call_table on riscv64). Merged by kernel/syscall/table.ts.
 */
export const fsSyscalls: SyscallTable = {
  [N.SYS_read]: sysRead,
  [N.SYS_write]: sysWrite,
  [N.SYS_readv]: sysReadv,
  [N.SYS_writev]: sysWritev,
  [N.SYS_pread64]: sysPread64,
  [N.SYS_pwrite64]: sysPwrite64,
  [N.SYS_preadv]: sysPreadv,
  [N.SYS_pwritev]: sysPwritev,
  [N.SYS_lseek]: sysLseek,
  [N.SYS_sendfile]: sysSendfile,
  [N.SYS_openat]: sysOpenat,
  [N.SYS_openat2]: sysOpenat2,
  [N.SYS_close]: sysClose,
  [N.SYS_close_range]: sysCloseRange,
  [N.SYS_dup]: sysDup,
  [N.SYS_dup3]: sysDup3,
  [N.SYS_fcntl]: sysFcntl,
  [N.SYS_ioctl]: sysIoctl,
  [N.SYS_newfstatat]: sysNewfstatat,
  [N.SYS_fstat]: sysFstat,
  [N.SYS_statx]: sysStatx,
  [N.SYS_readlinkat]: sysReadlinkat,
  [N.SYS_getdents64]: sysGetdents64,
  [N.SYS_faccessat]: sysFaccessat,
  [N.SYS_faccessat2]: sysFaccessat2,
  [N.SYS_getcwd]: sysGetcwd,
  [N.SYS_chdir]: sysChdir,
  [N.SYS_fchdir]: sysFchdir,
  [N.SYS_chroot]: sysChroot,
  [N.SYS_mkdirat]: sysMkdirat,
  [N.SYS_mknodat]: sysMknodat,
  [N.SYS_unlinkat]: sysUnlinkat,
  [N.SYS_symlinkat]: sysSymlinkat,
  [N.SYS_linkat]: sysLinkat,
  [N.SYS_renameat2]: sysRenameat2,
  [N.SYS_fchmodat]: sysFchmodat,
  [N.SYS_fchmod]: sysFchmod,
  [N.SYS_fchownat]: sysFchownat,
  [N.SYS_fchown]: sysFchown,
  [N.SYS_umask]: sysUmask,
  [N.SYS_truncate]: sysTruncate,
  [N.SYS_ftruncate]: sysFtruncate,
  [N.SYS_fsync]: sysFsync,
  [N.SYS_fdatasync]: sysFdatasync,
  [N.SYS_sync]: sysSync,
  [N.SYS_syncfs]: sysSyncfs,
  [N.SYS_statfs]: sysStatfs,
  [N.SYS_fstatfs]: sysFstatfs,
  [N.SYS_utimensat]: sysUtimensat,
  [N.SYS_ppoll]: sysPpoll,
  [N.SYS_pipe2]: sysPipe2,
  [N.SYS_fchmodat2]: sysFchmodat2,
  [N.SYS_preadv2]: sysPreadv2,
  [N.SYS_pwritev2]: sysPwritev2,
  [N.SYS_copy_file_range]: sysCopyFileRange,
  [N.SYS_fallocate]: sysFallocate,
  [N.SYS_fadvise64]: sysFadvise64,
  [N.SYS_readahead]: sysReadahead,
  [N.SYS_sync_file_range]: sysSyncFileRange,
  [N.SYS_flock]: sysFlock,
  [N.SYS_mount]: sysMount,
  [N.SYS_umount2]: sysUmount2,
  [N.SYS_setxattr]: X.sysSetxattr,
  [N.SYS_lsetxattr]: X.sysLsetxattr,
  [N.SYS_fsetxattr]: X.sysFsetxattr,
  [N.SYS_getxattr]: X.sysGetxattr,
  [N.SYS_lgetxattr]: X.sysLgetxattr,
  [N.SYS_fgetxattr]: X.sysFgetxattr,
  [N.SYS_listxattr]: X.sysListxattr,
  [N.SYS_llistxattr]: X.sysLlistxattr,
  [N.SYS_flistxattr]: X.sysFlistxattr,
  [N.SYS_removexattr]: X.sysRemovexattr,
  [N.SYS_lremovexattr]: X.sysLremovexattr,
  [N.SYS_fremovexattr]: X.sysFremovexattr,
  [N.SYS_name_to_handle_at]: X.sysNameToHandleAt,
  [N.SYS_open_by_handle_at]: X.sysOpenByHandleAt,
};
