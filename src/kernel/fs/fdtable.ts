import { EBADF, EMFILE } from '../errno.js';
import type { File } from './file.js';
import { locksRemovePosix } from './locks.js';
import { INR_OPEN_CUR } from './uapi.js';

/**
 * A task's open-file table (struct files_struct + struct fdtable, fs/file.c): fd → File,
 * the close-on-exec bits, and the lowest-free-fd hint (next_fd). Shared between threads
 * made with CLONE_FILES (the same object), copied by fork (dup_fd → clone()).
 */
export class FilesStruct {
  private fds: (File | null)[] = [];
  private cloexec: boolean[] = [];
  /** Lowest fd that may be free (files_struct.next_fd). */
  private nextFd = 0;
  /**
   * RLIMIT_NOFILE soft limit, enforced when allocating fds. Linux keeps rlimits in
   * signal_struct; until that exists the owner of prlimit64 writes it here.
   */
  rlimitNofile = INR_OPEN_CUR;

  /** Number of fd slots in use up to the highest (for /proc/<pid>/fd listing). */
  get maxFds(): number {
    return this.fds.length;
  }

  /** fd → File, or null (files_lookup_fd_raw / fget without taking a reference). */
  get(fd: number): File | null {
    if (!Number.isInteger(fd) || fd < 0 || fd >= this.fds.length) return null;
    return this.fds[fd] ?? null;
  }

  /**
   * Install a File (which brings its own reference) at the lowest free fd ≥ minFd
   * (get_unused_fd_flags + fd_install). Returns the fd or -EMFILE; on failure the caller
   * still owns its reference.
   */
  install(file: File, cloexec = false, minFd = 0): number {
    const fd = this.allocFd(minFd);
    if (fd < 0) return fd;
    this.fds[fd] = file;
    this.cloexec[fd] = cloexec;
    return fd;
  }

  /** Lowest free fd ≥ minFd under RLIMIT_NOFILE (alloc_fd), or -EMFILE. */
  private allocFd(minFd = 0): number {
    let fd = Math.max(minFd, this.nextFd);
    while (fd < this.fds.length && this.fds[fd]) fd++;
    if (fd >= this.rlimitNofile) return -EMFILE;
    if (minFd <= this.nextFd) this.nextFd = fd + 1;
    // Reserve: fill the hole so the array stays dense.
    while (this.fds.length <= fd) {
      this.fds.push(null);
      this.cloexec.push(false);
    }
    return fd;
  }

  /**
   * Put `file` at exactly `fd` (dup2/dup3 → do_dup2), closing what was there. The caller
   * checked fd < RLIMIT_NOFILE. The table takes the caller's reference.
   */
  installAt(fd: number, file: File, cloexec: boolean): void {
    while (this.fds.length <= fd) {
      this.fds.push(null);
      this.cloexec.push(false);
    }
    const old = this.fds[fd];
    this.fds[fd] = file;
    this.cloexec[fd] = cloexec;
    if (old) {
      locksRemovePosix(old, this);
      old.put();
    }
  }

  /** close(fd) (close_fd): -EBADF when not open. */
  close(fd: number): number {
    const f = this.get(fd);
    if (!f) return -EBADF;
    this.fds[fd] = null;
    this.cloexec[fd] = false;
    if (fd < this.nextFd) this.nextFd = fd;
    this.trim();
    // filp_close: any close of the file by this process drops its POSIX locks on it.
    locksRemovePosix(f, this);
    f.put();
    return 0;
  }

  /** close_range(first, last): close every open fd in the range; or only mark them close-on-exec. */
  closeRange(first: number, last: number, cloexecOnly: boolean): void {
    const end = Math.min(last, this.fds.length - 1);
    for (let fd = first; fd <= end; fd++) {
      if (!this.fds[fd]) continue;
      if (cloexecOnly) this.cloexec[fd] = true;
      else this.close(fd);
    }
  }

  getCloexec(fd: number): boolean {
    return this.cloexec[fd] === true;
  }

  setCloexec(fd: number, on: boolean): void {
    if (this.get(fd)) this.cloexec[fd] = on;
  }

  /** Open fds in ascending order. */
  openFds(): number[] {
    const out: number[] = [];
    for (let fd = 0; fd < this.fds.length; fd++) if (this.fds[fd]) out.push(fd);
    return out;
  }

  /** fork without CLONE_FILES (dup_fd): same Files, new references, same cloexec bits. */
  clone(): FilesStruct {
    const c = new FilesStruct();
    c.fds = this.fds.map((f) => (f ? f.get() : null));
    c.cloexec = this.cloexec.slice();
    c.nextFd = this.nextFd;
    c.rlimitNofile = this.rlimitNofile;
    return c;
  }

  /** execve: close every fd marked close-on-exec (do_close_on_exec). */
  closeOnExec(): void {
    for (let fd = 0; fd < this.fds.length; fd++) {
      if (this.fds[fd] && this.cloexec[fd]) this.close(fd);
    }
  }

  /** Task exit (put_files_struct when the last user goes): close everything. */
  closeAll(): void {
    for (let fd = 0; fd < this.fds.length; fd++) if (this.fds[fd]) this.close(fd);
  }

  private trim(): void {
    let n = this.fds.length;
    while (n > 0 && !this.fds[n - 1]) n--;
    if (n < this.fds.length) {
      this.fds.length = n;
      this.cloexec.length = n;
    }
  }
}
