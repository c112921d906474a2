// Permission rules against Linux: generic_permission for an unprivileged child (setuid 65534),
// search permission on every component, root's exec rule, sticky directories, setgid
// directories, chown clearing set-id bits, chmod/utimensat ownership rules, faccessat.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *en(int e) {
  static char buf[32];
  switch (e) {
#define C(x) case x: return #x;
  C(EPERM) C(ENOENT) C(EEXIST) C(ENOTDIR) C(EISDIR) C(EINVAL) C(EACCES) C(EBADF) C(EROFS)
#undef C
  case 0: return "0";
  }
  snprintf(buf, sizeof buf, "errno%d", e);
  return buf;
}
#define SHOW(label, expr) printf("%-46s %s\n", label, (expr) < 0 ? en(errno) : "0")

static void mode_of(const char *label, const char *p) {
  struct stat st;
  if (stat(p, &st) < 0) printf("%-46s %s\n", label, en(errno));
  else printf("%-46s %04o uid=%u gid=%u\n", label, st.st_mode & 07777, st.st_uid, st.st_gid);
}

static void put(const char *p, int mode) {
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
  write(fd, "data", 4);
  close(fd);
  chmod(p, mode);
}

static void as_nobody(void (*fn)(void)) {
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    gid_t g = 65534;
    if (setgroups(1, &g) < 0 || setgid(65534) < 0 || setuid(65534) < 0) {
      printf("drop privileges failed\n");
      _exit(1);
    }
    fn();
    fflush(stdout);
    _exit(0);
  }
  waitpid(c, NULL, 0);
}

static void nobody_checks(void) {
  SHOW("nobody: open 0600 file", open("priv", O_RDONLY));
  SHOW("nobody: open 0644 file rdonly", open("pub", O_RDONLY));
  SHOW("nobody: open 0644 file wronly", open("pub", O_WRONLY));
  SHOW("nobody: open 0644 file O_TRUNC", open("pub", O_RDONLY | O_TRUNC));
  SHOW("nobody: truncate 0644 file", truncate("pub", 0));
  SHOW("nobody: stat through 0700 dir", access("closed/inner", F_OK));
  SHOW("nobody: stat through 0711 dir", access("searchonly/inner", F_OK));
  SHOW("nobody: open dir 0711 for listing", open("searchonly", O_RDONLY | O_DIRECTORY));
  SHOW("nobody: create in 0755 dir", open("sub/new", O_CREAT | O_WRONLY, 0644));
  SHOW("nobody: mkdir in 0755 dir", mkdir("sub/newdir", 0755));
  SHOW("nobody: unlink in 0755 dir", unlink("sub/file"));
  SHOW("nobody: chmod root's file", chmod("pub", 0777));
  SHOW("nobody: chown root's file", chown("pub", 65534, 65534));
  SHOW("nobody: utimensat now on 0644 file", utimensat(AT_FDCWD, "pub", NULL, 0));
  SHOW("nobody: utimensat now on 0666 file", utimensat(AT_FDCWD, "world", NULL, 0));
  struct timespec ts[2] = {{1, 0}, {2, 0}};
  SHOW("nobody: utimensat explicit on 0666 file", utimensat(AT_FDCWD, "world", ts, 0));
  struct timespec om[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  SHOW("nobody: utimensat OMIT/NOW on 0666 file", utimensat(AT_FDCWD, "world", om, 0));
  SHOW("nobody: access X_OK 0755 file", access("exe", X_OK));
  SHOW("nobody: access W_OK 0644 file", access("pub", W_OK));
  SHOW("nobody: access R_OK 0644 file", access("pub", R_OK));
  SHOW("nobody: mknod fifo in sticky dir", mknod("sticky/fifo", S_IFIFO | 0644, 0));
  SHOW("nobody: mknod chr (no CAP_MKNOD)", mknod("sticky/chr", S_IFCHR | 0644, 0x103));
  SHOW("nobody: unlink root's file in sticky dir", unlink("sticky/rootfile"));
  SHOW("nobody: rename root's file in sticky dir", rename("sticky/rootfile", "sticky/mine"));
  SHOW("nobody: create own file in sticky dir", open("sticky/own", O_CREAT | O_WRONLY, 0644));
  SHOW("nobody: rename own file in sticky dir", rename("sticky/own", "sticky/own2"));
  SHOW("nobody: unlink own file in sticky dir", unlink("sticky/own2"));
  SHOW("nobody: chroot", chroot("sub"));
  SHOW("nobody: create own file in world dir", open("worlddir/mine", O_CREAT | O_WRONLY, 04755));
  mode_of("nobody: created file", "worlddir/mine");
  SHOW("nobody: chmod own file g+s (not in group 0)", chmod("worlddir/mine", 02755));
  mode_of("nobody: after chmod", "worlddir/mine");
  SHOW("nobody: chown own file to other uid", chown("worlddir/mine", 0, -1));
  SHOW("nobody: chown own file gid -1/-1", chown("worlddir/mine", -1, -1));
  SHOW("nobody: utimensat explicit own file", utimensat(AT_FDCWD, "worlddir/mine", ts, 0));
  SHOW("nobody: create in setgid dir", open("sgid/n", O_CREAT | O_WRONLY, 0644));
  mode_of("nobody: file in setgid dir", "sgid/n");
  unlink("sgid/n");
  unlink("worlddir/mine");
}

int main(void) {
  char top[64];
  snprintf(top, sizeof top, "/tmp/fs_perm.%d", (int)getpid());
  if (mkdir(top, 0755) < 0 || chdir(top) < 0) return 1;
  umask(0);
  put("priv", 0600);
  put("pub", 0644);
  put("world", 0666);
  put("exe", 0755);
  put("noexec", 0644);
  mkdir("closed", 0700);
  put("closed/inner", 0644);
  mkdir("searchonly", 0711);
  put("searchonly/inner", 0644);
  mkdir("sub", 0755);
  put("sub/file", 0644);
  mkdir("sticky", 01777);
  put("sticky/rootfile", 0666);
  mkdir("worlddir", 0777);
  mkdir("sgid", 02777);
  chown("sgid", 0, 1234);
  chmod("sgid", 02777); // mkdir drops S_ISGID from its mode; chmod sets it

  // Root: every rwx except exec of a file with no x bit.
  SHOW("root: access X_OK 0644 file", access("noexec", X_OK));
  SHOW("root: access X_OK 0755 file", access("exe", X_OK));
  SHOW("root: access W_OK 0000 file", chmod("priv", 0) | access("priv", W_OK));
  chmod("priv", 0600);
  SHOW("root: access X_OK dir 0000", chmod("closed", 0) | access("closed", X_OK));
  chmod("closed", 0700);
  SHOW("access bad mode", access("pub", 8));
  SHOW("faccessat bad flag", faccessat(AT_FDCWD, "pub", R_OK, 0x1));

  // Set-id bits: chown clears setuid, and setgid when group-exec is set.
  put("suid", 06755);
  SHOW("chown suid file", chown("suid", 1, 1));
  mode_of("suid after chown", "suid");
  put("sgidnox", 02644);
  SHOW("chown setgid file without g+x", chown("sgidnox", 2, 2));
  mode_of("setgid (no g+x) after chown", "sgidnox");
  put("keep", 06755);
  SHOW("chown -1 -1 keeps", chown("keep", -1, -1));
  mode_of("after chown -1 -1", "keep");
  mkdir("sdir", 06755);
  SHOW("chown setid dir", chown("sdir", 3, 3));
  mode_of("setid dir after chown", "sdir");
  SHOW("fchownat AT_SYMLINK_NOFOLLOW", symlink("pub", "lnk") | fchownat(AT_FDCWD, "lnk", 7, 7, AT_SYMLINK_NOFOLLOW));
  {
    struct stat st;
    lstat("lnk", &st);
    printf("%-46s uid=%u\n", "link owner", st.st_uid);
    stat("lnk", &st);
    printf("%-46s uid=%u\n", "target owner", st.st_uid);
  }
  SHOW("fchownat bad flag", fchownat(AT_FDCWD, "pub", 0, 0, 0x2));

  // setgid directories: new entries take the group, subdirectories the bit.
  SHOW("root: create in setgid dir", open("sgid/f", O_CREAT | O_WRONLY, 0644));
  SHOW("root: mkdir in setgid dir", mkdir("sgid/d", 0755));
  mode_of("file in setgid dir", "sgid/f");
  mode_of("dir in setgid dir", "sgid/d");

  // umask.
  umask(027);
  SHOW("create with umask 027", open("um", O_CREAT | O_WRONLY, 0666));
  mode_of("umask file", "um");
  SHOW("mkdir with umask 027", mkdir("umd", 0777));
  mode_of("umask dir", "umd");
  printf("%-46s %03o\n", "umask returns old", umask(0));

  // utimensat.
  {
    struct timespec ts[2] = {{1000, 5}, {2000, 7}};
    SHOW("utimensat explicit", utimensat(AT_FDCWD, "pub", ts, 0));
    struct stat st;
    stat("pub", &st);
    printf("%-46s %ld.%ld %ld.%ld\n", "times", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec,
           st.st_mtim.tv_nsec);
    struct timespec om[2] = {{0, UTIME_OMIT}, {3000, 0}};
    SHOW("utimensat OMIT atime", utimensat(AT_FDCWD, "pub", om, 0));
    stat("pub", &st);
    printf("%-46s %ld %ld\n", "times", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    SHOW("utimensat bad nsec", utimensat(AT_FDCWD, "pub", bad, 0));
    SHOW("utimensat bad flag", utimensat(AT_FDCWD, "pub", NULL, 0x2));
    struct timespec both[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    SHOW("utimensat both OMIT (missing file)", utimensat(AT_FDCWD, "missing", both, 0));
    SHOW("utimensat missing file", utimensat(AT_FDCWD, "missing", NULL, 0));
    int fd = open("pub", O_RDONLY);
    SHOW("futimens", futimens(fd, ts));
    close(fd);
    SHOW("utimensat on symlink NOFOLLOW", utimensat(AT_FDCWD, "lnk", ts, AT_SYMLINK_NOFOLLOW));
    // ctime moves on chmod; mtime does not.
    stat("pub", &st);
    time_t m0 = st.st_mtime;
    chmod("pub", 0644);
    stat("pub", &st);
    printf("%-46s %s\n", "chmod keeps mtime", st.st_mtime == m0 ? "yes" : "no");
  }

  as_nobody(nobody_checks);

  // faccessat with AT_EACCESS: effective ids (euid 65534, real uid 0).
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    setresuid(0, 65534, 0);
    SHOW("euid nobody: faccessat R_OK priv", faccessat(AT_FDCWD, "priv", R_OK, 0));
    SHOW("euid nobody: faccessat R_OK priv AT_EACCESS", faccessat(AT_FDCWD, "priv", R_OK, AT_EACCESS));
    SHOW("euid nobody: open priv", open("priv", O_RDONLY));
    fflush(stdout);
    _exit(0);
  }
  waitpid(c, NULL, 0);

  // Clean up.
  const char *files[] = {"priv", "pub", "world", "exe", "noexec", "closed/inner", "searchonly/inner", "sub/file",
                         "sticky/rootfile", "sticky/fifo", "suid", "sgidnox", "keep", "lnk", "sgid/f", "um", NULL};
  for (int i = 0; files[i]; i++) unlink(files[i]);
  const char *dirs[] = {"closed", "searchonly", "sub", "sticky", "worlddir", "sgid/d", "sgid", "sdir", "umd", NULL};
  for (int i = 0; dirs[i]; i++) rmdir(dirs[i]);
  chdir("/");
  printf("%-46s %s\n", "rmdir top", rmdir(top) < 0 ? en(errno) : "0");
  return 0;
}
