// Path walk and directory operations against Linux: renameat2 flags and errors, openat2
// RESOLVE_*, symlink loops and trailing-slash rules, O_EXCL on dangling links, mknodat,
// unlinkat, linkat, O_PATH, getcwd after rmdir, chroot and "..".
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *en(int e) {
  static char buf[32];
  switch (e) {
#define C(x) case x: return #x;
  C(EPERM) C(ENOENT) C(EEXIST) C(ENOTDIR) C(EISDIR) C(EINVAL) C(ENOTEMPTY) C(ELOOP) C(EXDEV)
  C(EBUSY) C(EACCES) C(EBADF) C(ENAMETOOLONG) C(E2BIG) C(EAGAIN) C(EOPNOTSUPP) C(EROFS) C(ENXIO)
#undef C
  case 0: return "0";
  }
  snprintf(buf, sizeof buf, "errno%d", e);
  return buf;
}
#define R(expr) ((expr) < 0 ? en(errno) : "0")
#define SHOW(label, expr) printf("%-44s %s\n", label, R(expr))

static void show_open(const char *label, long fd) {
  if (fd < 0) printf("%-44s %s\n", label, en(errno));
  else {
    printf("%-44s ok\n", label);
    close((int)fd);
  }
}

static void content(const char *label, const char *p) {
  char b[64] = {0};
  int fd = open(p, O_RDONLY);
  if (fd < 0) {
    printf("%-44s %s\n", label, en(errno));
    return;
  }
  int n = read(fd, b, sizeof b - 1);
  close(fd);
  printf("%-44s \"%.*s\"\n", label, n > 0 ? n : 0, b);
}

static void put(const char *p, const char *s) {
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  write(fd, s, strlen(s));
  close(fd);
}

static void nlink(const char *label, const char *p) {
  struct stat st;
  if (lstat(p, &st) < 0) printf("%-44s %s\n", label, en(errno));
  else printf("%-44s nlink=%lu\n", label, (unsigned long)st.st_nlink);
}

int main(void) {
  char top[64];
  snprintf(top, sizeof top, "/tmp/fs_namei.%d", (int)getpid());
  if (mkdir(top, 0755) < 0 || chdir(top) < 0) return 1;
  umask(022);

  // mkdir / rmdir / unlink basics.
  SHOW("mkdir d", mkdir("d", 0755));
  SHOW("mkdir d again", mkdir("d", 0755));
  SHOW("mkdir d/sub", mkdir("d/sub", 0755));
  nlink("d", "d");
  SHOW("rmdir d (not empty)", rmdir("d"));
  SHOW("rmdir d/sub/.", rmdir("d/sub/."));
  SHOW("rmdir d/sub/..", rmdir("d/sub/.."));
  put("f", "file-f");
  SHOW("rmdir f", rmdir("f"));
  SHOW("unlink d", unlink("d"));
  SHOW("unlinkat d AT_REMOVEDIR (not empty)", unlinkat(AT_FDCWD, "d", AT_REMOVEDIR));
  SHOW("unlinkat f AT_REMOVEDIR", unlinkat(AT_FDCWD, "f", AT_REMOVEDIR));
  SHOW("unlinkat bad flag", unlinkat(AT_FDCWD, "f", 0x4));
  SHOW("unlink f/", unlink("f/"));
  SHOW("open f/", open("f/", O_RDONLY));
  SHOW("mkdir f/x", mkdir("f/x", 0755));
  SHOW("mkdir missing/x", mkdir("missing/x", 0755));
  SHOW("mkdir new/ (trailing slash)", mkdir("new/", 0755));
  SHOW("rmdir new/", rmdir("new/"));

  // Symlinks.
  SHOW("symlink f -> lf", symlink("f", "lf"));
  SHOW("symlink dangling", symlink("nowhere", "dl"));
  SHOW("symlink loop a->b", symlink("b", "a"));
  SHOW("symlink loop b->a", symlink("a", "b"));
  SHOW("symlink empty target", symlink("", "e"));
  SHOW("open loop", open("a", O_RDONLY));
  SHOW("open lf O_NOFOLLOW", open("lf", O_RDONLY | O_NOFOLLOW));
  show_open("open lf O_PATH|O_NOFOLLOW", open("lf", O_PATH | O_NOFOLLOW));
  SHOW("open dl O_CREAT|O_EXCL", open("dl", O_WRONLY | O_CREAT | O_EXCL, 0644));
  show_open("open dl O_CREAT (creates target)", open("dl", O_WRONLY | O_CREAT, 0644));
  content("read nowhere", "nowhere");
  SHOW("open lf/ (link to file, slash)", open("lf/", O_RDONLY));
  SHOW("open f O_DIRECTORY", open("f", O_RDONLY | O_DIRECTORY));
  SHOW("open d O_WRONLY", open("d", O_WRONLY));
  SHOW("open d O_CREAT", open("d", O_RDONLY | O_CREAT, 0644));
  SHOW("open O_CREAT|O_DIRECTORY", open("zz", O_RDONLY | O_CREAT | O_DIRECTORY, 0644));
  {
    // A chain of 40 links resolves; 41 is ELOOP.
    char n[16], t[16];
    put("c0", "end");
    for (int i = 1; i <= 41; i++) {
      snprintf(n, sizeof n, "c%d", i);
      snprintf(t, sizeof t, "c%d", i - 1);
      symlink(t, n);
    }
    content("40 links", "c40");
    content("41 links", "c41");
    for (int i = 0; i <= 41; i++) {
      snprintf(n, sizeof n, "c%d", i);
      unlink(n);
    }
  }
  {
    char buf[64];
    ssize_t n = readlink("lf", buf, sizeof buf);
    printf("%-44s %zd %.*s\n", "readlink lf", n, (int)(n > 0 ? n : 0), buf);
    n = readlink("lf", buf, 1);
    printf("%-44s %zd\n", "readlink lf bufsiz 1", n);
    SHOW("readlink f (not a link)", readlink("f", buf, sizeof buf));
    SHOW("readlink bufsiz 0", readlink("lf", buf, 0));
  }

  // link / linkat.
  SHOW("link f f2", link("f", "f2"));
  nlink("f after link", "f");
  SHOW("link d d2 (dir)", link("d", "d2"));
  SHOW("link f f2 (exists)", link("f", "f2"));
  SHOW("linkat lf lf2 (no follow)", linkat(AT_FDCWD, "lf", AT_FDCWD, "lf2", 0));
  {
    struct stat st;
    lstat("lf2", &st);
    printf("%-44s %s\n", "lf2 is", S_ISLNK(st.st_mode) ? "symlink" : "other");
  }
  SHOW("linkat lf lf3 AT_SYMLINK_FOLLOW", linkat(AT_FDCWD, "lf", AT_FDCWD, "lf3", AT_SYMLINK_FOLLOW));
  nlink("f after follow link", "f");
  {
    int fd = open("f", O_RDONLY);
    SHOW("linkat fd AT_EMPTY_PATH", linkat(fd, "", AT_FDCWD, "f4", AT_EMPTY_PATH));
    nlink("f4", "f4");
    close(fd);
  }
  SHOW("linkat bad flags", linkat(AT_FDCWD, "f", AT_FDCWD, "f5", 0x8));
  unlink("f2"); unlink("lf2"); unlink("lf3"); unlink("f4");

  // renameat2.
  put("r1", "one");
  put("r2", "two");
  mkdir("rd1", 0755);
  mkdir("rd2", 0755);
  put("rd2/x", "x");
  SHOW("rename r1 r2 NOREPLACE", renameat2(AT_FDCWD, "r1", AT_FDCWD, "r2", RENAME_NOREPLACE));
  SHOW("rename r1 r2 EXCHANGE", renameat2(AT_FDCWD, "r1", AT_FDCWD, "r2", RENAME_EXCHANGE));
  content("r1 after exchange", "r1");
  content("r2 after exchange", "r2");
  SHOW("rename EXCHANGE missing target", renameat2(AT_FDCWD, "r1", AT_FDCWD, "r9", RENAME_EXCHANGE));
  SHOW("rename NOREPLACE|EXCHANGE", renameat2(AT_FDCWD, "r1", AT_FDCWD, "r2", RENAME_NOREPLACE | RENAME_EXCHANGE));
  SHOW("rename WHITEOUT|EXCHANGE", renameat2(AT_FDCWD, "r1", AT_FDCWD, "r2", RENAME_WHITEOUT | RENAME_EXCHANGE));
  SHOW("rename bad flag", renameat2(AT_FDCWD, "r1", AT_FDCWD, "r2", 0x80));
  SHOW("rename file over dir", rename("r1", "rd1"));
  SHOW("rename dir over file", rename("rd1", "r1"));
  SHOW("rename dir over non-empty dir", rename("rd1", "rd2"));
  SHOW("rename dir into itself", rename("rd1", "rd1/sub"));
  SHOW("rename dir to its own child path", rename("rd2", "rd2/x/y"));
  SHOW("rename . ", rename(".", "zz"));
  SHOW("rename to ..", rename("r1", "rd1/.."));
  SHOW("rename missing", rename("nope", "zz"));
  SHOW("rename r1 r1 (same)", rename("r1", "r1"));
  SHOW("rename r1 to link of itself", link("r1", "r1h") | rename("r1", "r1h"));
  nlink("r1 after rename onto own hard link", "r1");
  unlink("r1h");
  SHOW("rename file with trailing slash", rename("r1", "r3/"));
  SHOW("rename dir with trailing slash", rename("rd1/", "rd3/"));
  SHOW("rename dir over empty dir", rename("rd3", "rd1") == 0 && mkdir("rd4", 0755) == 0 ? rename("rd1", "rd4") : -1);
  nlink("top after dir renames", ".");
  SHOW("exchange file and dir", renameat2(AT_FDCWD, "r1", AT_FDCWD, "rd2", RENAME_EXCHANGE));
  {
    struct stat st;
    stat("r1", &st);
    printf("%-44s %s\n", "r1 is now", S_ISDIR(st.st_mode) ? "dir" : "file");
    renameat2(AT_FDCWD, "r1", AT_FDCWD, "rd2", RENAME_EXCHANGE);
  }
  SHOW("rename into subdir", rename("r2", "rd2/r2"));
  content("rd2/r2", "rd2/r2");

  // mknodat.
  SHOW("mknod fifo", mknod("p", S_IFIFO | 0644, 0));
  SHOW("mknod sock", mknod("s", S_IFSOCK | 0644, 0));
  SHOW("mknod reg (type 0)", mknod("m0", 0644, 0));
  SHOW("mknod bad type", mknod("bad", 0170000 | 0644, 0));
  SHOW("mknod dir type", mknod("bad", S_IFDIR | 0644, 0));
  SHOW("mknod chr as root", mknod("c", S_IFCHR | 0644, makedev(1, 3)));
  {
    struct stat st;
    if (stat("c", &st) == 0) printf("%-44s %u:%u\n", "chr rdev", major(st.st_rdev), minor(st.st_rdev));
    stat("p", &st);
    printf("%-44s %o\n", "fifo mode", st.st_mode);
    stat("m0", &st);
    printf("%-44s %o\n", "mknod type 0 mode", st.st_mode);
  }
  SHOW("mknod exists", mknod("p", S_IFIFO | 0644, 0));
  unlink("p"); unlink("s"); unlink("m0"); unlink("c");

  // openat2 lives in tests/guest-labvisor/fs_openat2.c (qemu-user 7.2 has no openat2).
  mkdir("jail", 0755);
  mkdir("jail/in", 0755);
  put("jail/in/file", "jailed");
  put("outside", "outside");
  symlink("../outside", "jail/up");

  // O_PATH fds.
  {
    int p = open("f", O_PATH);
    char c;
    SHOW("read O_PATH", read(p, &c, 1));
    SHOW("fchmod O_PATH", fchmod(p, 0600));
    struct stat st;
    SHOW("fstat O_PATH", fstat(p, &st));
    printf("%-44s %o\n", "F_GETFL O_PATH", fcntl(p, F_GETFL) & ~0100000);
    SHOW("fstatat O_PATH AT_EMPTY_PATH", fstatat(p, "", &st, AT_EMPTY_PATH));
    close(p);
  }

  // O_TMPFILE: an unnamed file, linkable unless O_EXCL.
  {
    int t = open(".", O_TMPFILE | O_RDWR, 0600);
    if (t < 0) printf("%-44s %s\n", "O_TMPFILE", en(errno));
    else {
      write(t, "tmp", 3);
      struct stat st;
      fstat(t, &st);
      printf("%-44s nlink=%lu mode=%o size=%ld\n", "O_TMPFILE", (unsigned long)st.st_nlink, st.st_mode, (long)st.st_size);
      SHOW("linkat O_TMPFILE AT_EMPTY_PATH", linkat(t, "", AT_FDCWD, "named", AT_EMPTY_PATH));
      fstat(t, &st);
      printf("%-44s nlink=%lu\n", "after linkat", (unsigned long)st.st_nlink);
      content("named", "named");
      unlink("named");
      close(t);
    }
    t = open(".", O_TMPFILE | O_RDWR | O_EXCL, 0600);
    SHOW("linkat O_TMPFILE|O_EXCL", linkat(t, "", AT_FDCWD, "named2", AT_EMPTY_PATH));
    close(t);
    SHOW("O_TMPFILE read-only", open(".", O_TMPFILE | O_RDONLY, 0600));
    SHOW("O_TMPFILE on a file", open("f", O_TMPFILE | O_RDWR, 0600));
  }

  // getcwd of a removed directory; chdir errors.
  mkdir("gone", 0755);
  chdir("gone");
  rmdir("../gone");
  {
    char buf[256];
    printf("%-44s %s\n", "getcwd removed", getcwd(buf, sizeof buf) ? "ok" : en(errno));
    SHOW("create in removed cwd", open("x", O_CREAT | O_WRONLY, 0644));
  }
  chdir(top);
  SHOW("chdir to file", chdir("f"));
  SHOW("chdir missing", chdir("missing"));
  {
    char buf[4];
    printf("%-44s %s\n", "getcwd small buffer", getcwd(buf, sizeof buf) ? "ok" : en(errno));
  }
  {
    char longname[300];
    memset(longname, 'n', 299);
    longname[299] = 0;
    SHOW("open name > 255", open(longname, O_RDONLY));
  }

  // chroot: ".." at the new root stays put.
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    if (chroot("jail") < 0) { printf("chroot %s\n", en(errno)); _exit(1); }
    content("chroot: /in/file", "/in/file");
    content("chroot: /../../in/file", "/../../in/file");
    content("chroot: up (link ../outside)", "/up");
    chdir("/");
    char buf[64];
    printf("%-44s %s\n", "chroot: getcwd", getcwd(buf, sizeof buf) ? buf : en(errno));
    fflush(stdout);
    _exit(0);
  }
  waitpid(c, NULL, 0);

  // Clean up.
  unlink("jail/in/file"); rmdir("jail/in"); unlink("jail/up"); rmdir("jail"); unlink("outside");
  unlink("rd2/x"); unlink("rd2/r2"); rmdir("rd2"); rmdir("rd4"); rmdir("rd3"); rmdir("rd1");
  unlink("r1"); unlink("r2"); unlink("f"); unlink("lf"); unlink("dl"); unlink("nowhere"); unlink("a"); unlink("b");
  unlink("e"); rmdir("d/sub"); rmdir("d"); unlink("zz");
  chdir("/");
  printf("%-44s %s\n", "rmdir top", rmdir(top) < 0 ? en(errno) : "0");
  return 0;
}
