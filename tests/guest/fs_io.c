// File I/O calls against Linux: pread/pwrite/readv/writev/preadv/pwritev(2), lseek with
// SEEK_DATA/SEEK_HOLE, truncate, fallocate, copy_file_range, sendfile, statx, getdents64,
// fcntl F_GETFL/F_SETFL/F_DUPFD, fadvise, fsync/syncfs, and time stamps.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char *en(int e) {
  static char buf[32];
  switch (e) {
#define C(x) case x: return #x;
  C(EPERM) C(ENOENT) C(EEXIST) C(ENOTDIR) C(EISDIR) C(EINVAL) C(EACCES) C(EBADF) C(ESPIPE) C(ENXIO)
  C(EXDEV) C(EOPNOTSUPP) C(EFBIG) C(ENODEV) C(EFAULT)
#undef C
  case 0: return "0";
  }
  snprintf(buf, sizeof buf, "errno%d", e);
  return buf;
}
#define SHOW(label, expr) do { long r_ = (long)(expr); if (r_ < 0) printf("%-44s %s\n", label, en(errno)); else printf("%-44s %ld\n", label, r_); } while (0)

static void msleep(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static long fsize(int fd) {
  struct stat st;
  fstat(fd, &st);
  return (long)st.st_size;
}

static void content(const char *label, int fd, off_t at, int n) {
  char b[128];
  ssize_t r = pread(fd, b, n, at);
  printf("%-44s ", label);
  for (ssize_t i = 0; i < r; i++) putchar(b[i] ? b[i] : '.');
  printf(" (%zd)\n", r);
}

int main(void) {
  char top[64];
  snprintf(top, sizeof top, "/tmp/fs_io.%d", (int)getpid());
  if (mkdir(top, 0755) < 0 || chdir(top) < 0) return 1;
  int fd = open("a", O_RDWR | O_CREAT | O_TRUNC, 0644);

  // write / pwrite / writev / pwritev.
  SHOW("write", write(fd, "hello", 5));
  SHOW("pwrite at 10", pwrite(fd, "world", 5, 10));
  SHOW("size after pwrite past EOF", fsize(fd));
  content("content", fd, 0, 15);
  SHOW("pos after pwrite", lseek(fd, 0, SEEK_CUR));
  struct iovec iov[3] = {{"AB", 2}, {"", 0}, {"CDE", 3}};
  SHOW("writev", writev(fd, iov, 3));
  SHOW("pwritev at 1", pwritev(fd, iov, 3, 1));
  content("content", fd, 0, 15);
  SHOW("pwrite negative offset", pwrite(fd, "x", 1, -1));
  {
    volatile int neg = -1, many = 1025; // hidden from the compiler's bounds checks
    SHOW("writev iovcnt -1", writev(fd, iov, neg));
    SHOW("writev iovcnt 1025", writev(fd, iov, many));
  }
  {
    char b[8];
    struct iovec r[2] = {{b, 3}, {b + 3, 3}};
    SHOW("preadv at 2", preadv(fd, r, 2, 2));
    printf("%-44s %.6s\n", "preadv data", b);
    SHOW("preadv2 offset -1 (file pos)", preadv2(fd, r, 2, -1, 0));
    SHOW("pos after preadv2 -1", lseek(fd, 0, SEEK_CUR));
    SHOW("preadv2 bad flags", preadv2(fd, r, 2, 0, 0x1000));
  }

  // lseek.
  SHOW("lseek SEEK_END -1", lseek(fd, -1, SEEK_END));
  SHOW("lseek negative result", lseek(fd, -100, SEEK_CUR));
  SHOW("lseek bad whence", lseek(fd, 0, 7));
  SHOW("lseek past EOF", lseek(fd, 100, SEEK_SET));
  {
    int p[2];
    pipe(p);
    SHOW("lseek pipe", lseek(p[0], 0, SEEK_SET));
    SHOW("pread pipe", pread(p[0], iov, 1, 0));
    SHOW("fsync pipe", fsync(p[0]));
    printf("%-44s %s\n", "posix_fadvise pipe", en(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL)));
    close(p[0]);
    close(p[1]);
  }

  // Holes: SEEK_DATA / SEEK_HOLE at page granularity.
  int h = open("holes", O_RDWR | O_CREAT | O_TRUNC, 0644);
  pwrite(h, "x", 1, 8192);
  ftruncate(h, 5 * 4096);
  SHOW("SEEK_DATA 0", lseek(h, 0, SEEK_DATA));
  SHOW("SEEK_HOLE 0", lseek(h, 0, SEEK_HOLE));
  SHOW("SEEK_HOLE 8192", lseek(h, 8192, SEEK_HOLE));
  SHOW("SEEK_DATA 12288", lseek(h, 12288, SEEK_DATA));
  SHOW("SEEK_DATA at EOF", lseek(h, 5 * 4096, SEEK_DATA));
  SHOW("SEEK_HOLE past EOF", lseek(h, 6 * 4096, SEEK_HOLE));
  content("read in a hole", h, 100, 4);

  // truncate / ftruncate.
  SHOW("ftruncate grow", ftruncate(fd, 20));
  SHOW("size", fsize(fd));
  content("content", fd, 0, 20);
  SHOW("ftruncate shrink", ftruncate(fd, 3));
  content("content", fd, 0, 20);
  SHOW("ftruncate negative", ftruncate(fd, -1));
  SHOW("truncate path", truncate("a", 2));
  SHOW("truncate dir", truncate(".", 0));
  SHOW("truncate missing", truncate("missing", 0));
  {
    int ro = open("a", O_RDONLY);
    SHOW("ftruncate O_RDONLY", ftruncate(ro, 0));
    close(ro);
    int ap = open("a", O_WRONLY | O_APPEND);
    SHOW("ftruncate O_APPEND", ftruncate(ap, 0));
    SHOW("write O_APPEND", write(ap, "++", 2));
    SHOW("pos O_APPEND", lseek(ap, 0, SEEK_CUR));
    SHOW("pwrite O_APPEND at 0 appends", pwrite(ap, "--", 2, 0));
    close(ap);
    content("content", fd, 0, 10);
  }

  // fallocate.
  int fa = open("fa", O_RDWR | O_CREAT | O_TRUNC, 0644);
  SHOW("fallocate 0..10000", fallocate(fa, 0, 0, 10000));
  SHOW("size", fsize(fa));
  SHOW("fallocate KEEP_SIZE 0..50000", fallocate(fa, FALLOC_FL_KEEP_SIZE, 0, 50000));
  SHOW("size", fsize(fa));
  SHOW("fallocate len 0", fallocate(fa, 0, 0, 0));
  SHOW("fallocate negative offset", fallocate(fa, 0, -1, 10));
  SHOW("fallocate PUNCH_HOLE without KEEP_SIZE", fallocate(fa, FALLOC_FL_PUNCH_HOLE, 0, 10));
  pwrite(fa, "0123456789", 10, 0);
  SHOW("fallocate PUNCH_HOLE|KEEP_SIZE 2..5", fallocate(fa, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 3));
  content("after punch", fa, 0, 10);
  {
    int ro = open("fa", O_RDONLY);
    SHOW("fallocate O_RDONLY", fallocate(ro, 0, 0, 10));
    close(ro);
    SHOW("fallocate dir fd", fallocate(open(".", O_RDONLY), 0, 0, 10));
  }
  printf("%-44s %s\n", "posix_fadvise bad advice", en(posix_fadvise(fa, 0, 0, 99)));
  printf("%-44s %s\n", "posix_fadvise negative len", en(posix_fadvise(fa, 0, -1, POSIX_FADV_NORMAL)));
  printf("%-44s %s\n", "posix_fadvise DONTNEED", en(posix_fadvise(fa, 0, 0, POSIX_FADV_DONTNEED)));
  printf("%-44s %s\n", "posix_fadvise bad fd", en(posix_fadvise(99, 0, 0, POSIX_FADV_NORMAL)));

  // copy_file_range / sendfile.
  int src = open("src", O_RDWR | O_CREAT | O_TRUNC, 0644);
  write(src, "abcdefghijklmnopqrstuvwxyz", 26);
  int dst = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
  loff_t oi = 5, oo = 0;
  SHOW("copy_file_range 10 from 5", copy_file_range(src, &oi, dst, &oo, 10, 0));
  printf("%-44s %ld %ld\n", "offsets after", (long)oi, (long)oo);
  content("dst", dst, 0, 12);
  SHOW("copy_file_range with positions", copy_file_range(src, NULL, dst, NULL, 100, 0));
  SHOW("src pos", lseek(src, 0, SEEK_CUR));
  SHOW("dst pos", lseek(dst, 0, SEEK_CUR));
  SHOW("copy_file_range past EOF", (oi = 100, copy_file_range(src, &oi, dst, NULL, 10, 0)));
  SHOW("copy_file_range flags", copy_file_range(src, NULL, dst, NULL, 1, 1));
  SHOW("copy_file_range overlapping same file", (oi = 0, oo = 2, copy_file_range(src, &oi, src, &oo, 10, 0)));
  SHOW("copy_file_range dir", copy_file_range(open(".", O_RDONLY), NULL, dst, NULL, 1, 0));
  {
    int ap = open("dst", O_WRONLY | O_APPEND);
    SHOW("copy_file_range to O_APPEND", copy_file_range(src, NULL, ap, NULL, 1, 0));
    close(ap);
  }
  off_t so = 20;
  SHOW("sendfile 4 from 20", sendfile(dst, src, &so, 4));
  printf("%-44s %ld\n", "sendfile offset after", (long)so);
  lseek(src, 0, SEEK_SET);
  SHOW("sendfile from position", sendfile(dst, src, NULL, 3));
  SHOW("src pos after", lseek(src, 0, SEEK_CUR));
  SHOW("dst size", fsize(dst));
  {
    int p[2];
    pipe(p);
    SHOW("sendfile file to pipe", sendfile(p[1], src, NULL, 5));
    char b[8] = {0};
    read(p[0], b, 5);
    printf("%-44s %s\n", "pipe got", b);
    close(p[0]);
    close(p[1]);
  }

  // statx.
  {
    struct statx sx;
    SHOW("statx basic", statx(AT_FDCWD, "src", 0, STATX_BASIC_STATS, &sx));
    printf("%-44s size=%llu mode=%o nlink=%u type-in-mask=%d\n", "statx", (unsigned long long)sx.stx_size,
           sx.stx_mode, sx.stx_nlink, !!(sx.stx_mask & STATX_TYPE));
    SHOW("statx reserved mask bit", statx(AT_FDCWD, "src", 0, 0x80000000u, &sx));
    SHOW("statx bad sync flags", statx(AT_FDCWD, "src", AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, 0, &sx));
    SHOW("statx AT_EMPTY_PATH fd", statx(src, "", AT_EMPTY_PATH, STATX_SIZE, &sx));
    printf("%-44s %llu\n", "statx size via fd", (unsigned long long)sx.stx_size);
    SHOW("statx empty path without flag", statx(src, "", 0, STATX_SIZE, &sx));
    symlink("src", "lsrc");
    statx(AT_FDCWD, "lsrc", AT_SYMLINK_NOFOLLOW, STATX_MODE, &sx);
    printf("%-44s %s\n", "statx NOFOLLOW on link", S_ISLNK(sx.stx_mode) ? "link" : "other");
    SHOW("statx bad flag", statx(AT_FDCWD, "src", 0x1, 0, &sx));
    SHOW("fstatat bad flag", fstatat(AT_FDCWD, "src", (struct stat *)&sx, 0x1));
  }

  // fcntl flags.
  {
    int fl = fcntl(fd, F_GETFL);
    printf("%-44s %o\n", "F_GETFL O_RDWR|O_CREAT", fl & ~0100000);
    SHOW("F_SETFL O_APPEND|O_NONBLOCK|O_RDONLY", fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK | O_RDONLY | O_CREAT));
    printf("%-44s %o\n", "F_GETFL after", fcntl(fd, F_GETFL) & ~0100000);
    fcntl(fd, F_SETFL, 0);
    // (qemu-user keeps a descriptor of its own near 10: stay clear of it.)
    SHOW("F_DUPFD 40", fcntl(fd, F_DUPFD, 40));
    SHOW("F_DUPFD_CLOEXEC 40", fcntl(fd, F_DUPFD_CLOEXEC, 40));
    SHOW("F_GETFD of it", fcntl(41, F_GETFD));
    SHOW("F_DUPFD negative", fcntl(fd, F_DUPFD, -1));
    SHOW("fcntl bad cmd", fcntl(fd, 9999));
    close(40);
    close(41);
  }

  // fsync / fdatasync / syncfs / sync.
  SHOW("fsync", fsync(fd));
  SHOW("fdatasync", fdatasync(fd));
  SHOW("syncfs", syncfs(fd));
  SHOW("fsync bad fd", fsync(99));
  sync();

  // Time stamps: write moves mtime/ctime; a new entry moves the directory's mtime.
  {
    struct stat a0, a1, d0, d1;
    fstat(fd, &a0);
    stat(".", &d0);
    msleep(20);
    write(fd, "t", 1);
    fstat(fd, &a1);
    printf("%-44s %s\n", "write moved mtime", a1.st_mtim.tv_sec * 1000000000L + a1.st_mtim.tv_nsec > a0.st_mtim.tv_sec * 1000000000L + a0.st_mtim.tv_nsec ? "yes" : "no");
    close(open("newfile", O_CREAT | O_WRONLY, 0644));
    stat(".", &d1);
    printf("%-44s %s\n", "create moved dir mtime", d1.st_mtim.tv_sec * 1000000000L + d1.st_mtim.tv_nsec > d0.st_mtim.tv_sec * 1000000000L + d0.st_mtim.tv_nsec ? "yes" : "no");
    struct stat l0, l1;
    stat("newfile", &l0);
    msleep(20);
    link("newfile", "newfile2");
    stat("newfile", &l1);
    printf("%-44s %s\n", "link moved ctime", l1.st_ctim.tv_nsec != l0.st_ctim.tv_nsec || l1.st_ctim.tv_sec != l0.st_ctim.tv_sec ? "yes" : "no");
    printf("%-44s %s\n", "link kept mtime", l1.st_mtim.tv_nsec == l0.st_mtim.tv_nsec && l1.st_mtim.tv_sec == l0.st_mtim.tv_sec ? "yes" : "no");
  }

  // atime (relatime): a read updates an atime older than mtime, then not again within a day;
  // O_NOATIME reads never do.
  {
    struct timespec ts[2] = {{1000, 0}, {2000, 0}};
    utimensat(AT_FDCWD, "src", ts, 0);
    msleep(20);
    int r = open("src", O_RDONLY);
    char c;
    struct stat s0, s1, s2;
    read(r, &c, 1);
    fstat(r, &s0);
    printf("%-44s %s\n", "read moved old atime", s0.st_atime > 2000 ? "yes" : "no");
    msleep(20);
    read(r, &c, 1);
    fstat(r, &s1);
    printf("%-44s %s\n", "second read kept atime", s1.st_atim.tv_sec == s0.st_atim.tv_sec && s1.st_atim.tv_nsec == s0.st_atim.tv_nsec ? "yes" : "no");
    close(r);
    utimensat(AT_FDCWD, "src", ts, 0);
    r = open("src", O_RDONLY | O_NOATIME);
    read(r, &c, 1);
    fstat(r, &s2);
    printf("%-44s %ld\n", "O_NOATIME read atime", (long)s2.st_atime);
    close(r);
  }

  // getdents64: every name once, with types.
  {
    int d = open(".", O_RDONLY | O_DIRECTORY);
    char buf[4096];
    long n;
    int count = 0, dots = 0, regs = 0, links = 0;
    while ((n = syscall(SYS_getdents64, d, buf, sizeof buf)) > 0) {
      for (long off = 0; off < n;) {
        struct dirent64 *e = (struct dirent64 *)(buf + off);
        count++;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) dots++;
        if (e->d_type == DT_REG) regs++;
        if (e->d_type == DT_LNK) links++;
        off += e->d_reclen;
      }
    }
    printf("%-44s entries=%d dots=%d regular=%d links=%d\n", "getdents64", count, dots, regs, links);
    SHOW("getdents64 tiny buffer", (lseek(d, 0, SEEK_SET), syscall(SYS_getdents64, d, buf, 8)));
    SHOW("getdents64 on a file", syscall(SYS_getdents64, fd, buf, sizeof buf));
    SHOW("read on a directory", read(d, buf, 10));
    close(d);
  }

  const char *names[] = {"a", "holes", "fa", "src", "dst", "lsrc", "newfile", "newfile2", NULL};
  for (int i = 0; names[i]; i++) unlink(names[i]);
  chdir("/");
  SHOW("rmdir top", rmdir(top));
  return 0;
}
