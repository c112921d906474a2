import { describe, expect, it } from 'vitest';
import * as E from '../../../src/kernel/errno.js';
import * as N from '../../../src/kernel/syscall/numbers.js';
import {
  AT_FDCWD,
  FD_CLOEXEC,
  F_DUPFD,
  F_DUPFD_CLOEXEC,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  O_APPEND,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_CREAT,
} from '../../../src/kernel/fs/uapi.js';
import { makeEnv } from './helpers.js';

describe('fd table (FilesStruct)', () => {
  it('allocates the lowest free fd, dup/dup3/F_DUPFD, close-on-exec', () => {
    const env = makeEnv();
    const open = (): number => env.call(N.SYS_openat, AT_FDCWD, env.str('/dev/null'), O_RDWR, 0);
    expect(open()).toBe(3);
    expect(open()).toBe(4);
    expect(open()).toBe(5);
    expect(env.call(N.SYS_close, 4)).toBe(0);
    expect(open()).toBe(4);
    expect(env.call(N.SYS_close, 0)).toBe(0);
    expect(env.call(N.SYS_dup, 5)).toBe(0);
    expect(env.call(N.SYS_dup3, 5, 5, 0)).toBe(-E.EINVAL);
    expect(env.call(N.SYS_dup3, 5, 20, 0x1)).toBe(-E.EINVAL);
    expect(env.call(N.SYS_dup3, 5, 20, O_CLOEXEC)).toBe(20);
    expect(env.call(N.SYS_fcntl, 20, F_GETFD)).toBe(FD_CLOEXEC);
    expect(env.call(N.SYS_dup3, 5, 1024, 0)).toBe(-E.EBADF);
    expect(env.call(N.SYS_dup3, 99, 6, 0)).toBe(-E.EBADF);
    expect(env.call(N.SYS_fcntl, 5, F_DUPFD, 10)).toBe(10);
    expect(env.call(N.SYS_fcntl, 5, F_DUPFD_CLOEXEC, 10)).toBe(11);
    expect(env.call(N.SYS_fcntl, 11, F_GETFD)).toBe(FD_CLOEXEC);
    expect(env.call(N.SYS_fcntl, 10, F_GETFD)).toBe(0);
    expect(env.call(N.SYS_fcntl, 10, F_SETFD, FD_CLOEXEC)).toBe(0);
    expect(env.call(N.SYS_fcntl, 5, F_DUPFD, 1024)).toBe(-E.EINVAL);
    expect(env.call(N.SYS_fcntl, 5, F_DUPFD, -1)).toBe(-E.EINVAL);
    // dup shares the position; F_SETFL changes only the settable flags
    expect(env.call(N.SYS_fcntl, 5, F_GETFL)).toBe(O_RDWR);
    expect(env.call(N.SYS_fcntl, 5, F_SETFL, O_APPEND | O_NONBLOCK | O_CREAT)).toBe(0);
    expect(env.call(N.SYS_fcntl, 10, F_GETFL)).toBe(O_RDWR | O_APPEND | O_NONBLOCK);
    env.task.files.closeOnExec();
    expect(env.task.files.get(10)).toBeNull();
    expect(env.task.files.get(11)).toBeNull();
    expect(env.task.files.get(20)).toBeNull();
    expect(env.task.files.get(5)).not.toBeNull();
    expect(env.call(N.SYS_close_range, 3, 0xffffffff, 0)).toBe(0);
    expect(env.task.files.openFds()).toEqual([0, 1, 2]);
  });

  it('EMFILE at RLIMIT_NOFILE and clone() shares open files', () => {
    const env = makeEnv();
    env.task.files.rlimitNofile = 8;
    const fds: number[] = [];
    for (;;) {
      const fd = env.call(N.SYS_openat, AT_FDCWD, env.str('/dev/zero'), O_RDONLY, 0);
      if (fd < 0) {
        expect(fd).toBe(-E.EMFILE);
        break;
      }
      fds.push(fd);
    }
    expect(fds).toEqual([3, 4, 5, 6, 7]);
    const f = env.task.files.get(3)!;
    const c = env.task.files.clone();
    expect(f.count).toBe(2);
    c.closeAll();
    expect(f.count).toBe(1);
    expect(env.task.files.get(3)).toBe(f);
  });
});
