/*
 * A hostile guest against the file, tty and fd-waiting system calls: bad pointers (NULL, a kernel-half
 * address, an unmapped page, a read-only page as an output buffer), bad sizes and flags, straight
 * through syscall(). Linux answers -EFAULT/-EINVAL/-EBADF and the program carries on; so must we.
 * Only cases where Linux's and qemu-user's answers agree are here. Left out because qemu 7.2 differs from
 * Linux (and we answer as Linux does): a NULL or unmapped epoll_pwait buffer with nothing ready (Linux 0:
 * access_ok passes, nothing is copied), eventfd reads that fail before copying (EAGAIN/EINVAL first),
 * timerfd_gettime(NULL) (Linux EFAULT, qemu 0), signalfd4 with a bad size (Linux EINVAL), a read at end of
 * file into a read-only page (Linux 0), openat2 (qemu ENOSYS).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KERNEL_HALF ((void *)0xffffffff80000000ul)

static void report(const char *what, long r) {
  if (r == -1) {
    const char *name = strerrorname_np(errno);
    printf("%-52s = -1 %s\n", what, name ? name : "?");
  } else {
    printf("%-52s = %ld\n", what, r);
  }
  fflush(stdout);
}

int main(void) {
  char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(gone, 4096);
  void *bads[] = {NULL, KERNEL_HALF, gone};
  const char *names[] = {"NULL", "kernel", "unmapped"};
  char dir[64];
  snprintf(dir, sizeof dir, "/tmp/hostile_fs.%d", getpid());
  mkdir(dir, 0755);
  if (chdir(dir) != 0) return 1;
  int fd = open("f", O_RDWR | O_CREAT, 0644);
  if (write(fd, "hello world", 11) != 11) return 1;
  int p[2];
  if (pipe(p) != 0) return 1;
  int ep = epoll_create1(0);
  int efd = syscall(SYS_eventfd2, 0, O_NONBLOCK);
  int tfd = syscall(SYS_timerfd_create, CLOCK_MONOTONIC, 0);
  char what[96];
  struct timespec zero_ts = {0, 0};

  for (int i = 0; i < 3; i++) {
    void *b = bads[i];
#define T(fmt, call)                                  \
  do {                                                \
    snprintf(what, sizeof what, fmt, names[i]);       \
    report(what, (long)(call));                       \
  } while (0)
    T("epoll_ctl ADD event=%s", syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, p[0], b));
    T("eventfd write buf=%s", write(efd, b, 8));
    T("timerfd_settime new=%s", syscall(SYS_timerfd_settime, tfd, 0, b, NULL));
    T("signalfd4 mask=%s", syscall(SYS_signalfd4, -1, b, 8, 0));
    T("ppoll fds=%s", syscall(SYS_ppoll, b, 1, &zero_ts, NULL, 8));
    T("pselect6 readfds=%s", syscall(SYS_pselect6, 4, b, NULL, NULL, &zero_ts, NULL));
    T("statx path=%s", syscall(SYS_statx, AT_FDCWD, b, 0, 0x7ff, ro));
    T("statx buf=%s", syscall(SYS_statx, AT_FDCWD, "f", 0, 0x7ff, b));
    T("newfstatat buf=%s", syscall(SYS_newfstatat, AT_FDCWD, "f", b, 0));
    T("openat path=%s", syscall(SYS_openat, AT_FDCWD, b, O_RDONLY));
    T("getdents64 buf=%s", syscall(SYS_getdents64, open(".", O_RDONLY | O_DIRECTORY), b, 4096));
    T("readlinkat buf=%s", syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", b, 64));
    T("fcntl F_SETLK flock=%s", syscall(SYS_fcntl, fd, F_SETLK, b));
    T("fcntl F_GETLK flock=%s", syscall(SYS_fcntl, fd, F_GETLK, b));
    T("utimensat times=%s", syscall(SYS_utimensat, AT_FDCWD, "f", b, 0));
    T("sendfile offset=%s", syscall(SYS_sendfile, p[1], fd, b, 4));
    T("copy_file_range off_in=%s", syscall(SYS_copy_file_range, fd, b, fd, NULL, 4, 0));
    T("statfs buf=%s", syscall(SYS_statfs, "/", b));
    T("fstatfs buf=%s", syscall(SYS_fstatfs, fd, b));
    T("getcwd buf=%s", syscall(SYS_getcwd, b, 256));
    T("mkdirat path=%s", syscall(SYS_mkdirat, AT_FDCWD, b, 0755));
    T("renameat2 old=%s", syscall(SYS_renameat2, AT_FDCWD, b, AT_FDCWD, "g", 0));
    T("symlinkat target=%s", syscall(SYS_symlinkat, b, AT_FDCWD, "l"));
    T("pipe2 fds=%s", syscall(SYS_pipe2, b, 0));
  }
  report("epoll_pwait events=kernel", syscall(SYS_epoll_pwait, ep, KERNEL_HALF, 4, 0, NULL, 8));
  report("timerfd_gettime cur=kernel", syscall(SYS_timerfd_gettime, tfd, KERNEL_HALF));
  report("timerfd_gettime cur=unmapped", syscall(SYS_timerfd_gettime, tfd, gone));
  /* Output buffers in read-only memory. */
  report("pread64 into a read-only page", pread(fd, ro, 4, 0));
  report("statx into a read-only page", syscall(SYS_statx, AT_FDCWD, "f", 0, 0x7ff, ro));
  /* Bad sizes, flags and fds. */
  report("epoll_pwait maxevents=0", syscall(SYS_epoll_pwait, ep, ro, 0, 0, NULL, 8));
  report("epoll_pwait maxevents=-1", syscall(SYS_epoll_pwait, ep, ro, -1, 0, NULL, 8));
  report("epoll_ctl bad op", syscall(SYS_epoll_ctl, ep, 99, p[0], ro));
  report("epoll_ctl on itself", syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, ep, ro));
  report("epoll_create1 bad flags", syscall(SYS_epoll_create1, 0x1234));
  report("timerfd_create bad clock", syscall(SYS_timerfd_create, 12345, 0));
  report("ppoll nfds huge", syscall(SYS_ppoll, ro, 1L << 40, &zero_ts, NULL, 8));
  report("pselect6 nfds=-1", syscall(SYS_pselect6, -1, NULL, NULL, NULL, &zero_ts, NULL));
  report("flock bad op", syscall(SYS_flock, fd, 0x55));
  report("fallocate mode 0x100", syscall(SYS_fallocate, fd, 0x100, 0, 10));
  report("fallocate len 0", syscall(SYS_fallocate, fd, 0, 0, 0));
  report("fallocate negative offset", syscall(SYS_fallocate, fd, 0, -1, 10));
  report("lseek SEEK 99", syscall(SYS_lseek, fd, 0, 99));
  report("ftruncate -1", syscall(SYS_ftruncate, fd, -1));
  report("renameat2 bad flags", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "g", 0x80));
  report("renameat2 NOREPLACE|EXCHANGE", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "g", 3));
  report("fcntl bad cmd", syscall(SYS_fcntl, fd, 12345, 0));
  report("dup3 same fd", syscall(SYS_dup3, fd, fd, 0));
  report("dup3 bad flags", syscall(SYS_dup3, fd, 100, 0x40));
  report("close -1", syscall(SYS_close, -1));
  report("ioctl TCGETS on a file", syscall(SYS_ioctl, fd, 0x5401, ro));
  char small[8];
  report("read on the epoll fd", read(ep, small, 4));
  report("write to the timerfd", write(tfd, "12345678", 8));
  unlink("f");
  unlink("g");
  unlink("l");
  rmdir("x");
  chdir("/");
  report("rmdir the test directory", rmdir(dir));
  return 0;
}
