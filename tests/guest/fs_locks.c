// File locks as Linux keeps them: POSIX record locks (ranges, merge/split, per-process owner,
// released by any close and at exit, F_SETLKW sleeping and EDEADLK), OFD locks and flock(2).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *en(int e) {
  switch (e) {
  case 0: return "0";
  case EAGAIN: return "EAGAIN";
  case EBADF: return "EBADF";
  case EINVAL: return "EINVAL";
  case EDEADLK: return "EDEADLK";
  case EINTR: return "EINTR";
  case EOVERFLOW: return "EOVERFLOW";
  default: return strerror(e);
  }
}

static int lk(int fd, int cmd, short type, off_t start, off_t len) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  return fcntl(fd, cmd, &fl) < 0 ? errno : 0;
}

static pid_t parent;

/** F_GETLK over [start, start+len) and print what it reports. */
static void getlk(const char *who, int fd, int cmd, short type, off_t start, off_t len) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len, .l_pid = 0};
  if (fcntl(fd, cmd, &fl) < 0) {
    printf("%s getlk(%ld,%ld): %s\n", who, (long)start, (long)len, en(errno));
    return;
  }
  if (fl.l_type == F_UNLCK) {
    printf("%s getlk(%ld,%ld): unlocked\n", who, (long)start, (long)len);
    return;
  }
  printf("%s getlk(%ld,%ld): %s start=%ld len=%ld pid=%s\n", who, (long)start, (long)len,
         fl.l_type == F_WRLCK ? "W" : "R", (long)fl.l_start, (long)fl.l_len,
         fl.l_pid == parent ? "parent" : fl.l_pid == -1 ? "-1" : fl.l_pid == getpid() ? "self" : "other");
}

static void msleep(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void in_child(void (*fn)(void *), void *arg) {
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    fn(arg);
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(p, &st, 0);
}

static const char *path;

static void child_probe(void *arg) {
  (void)arg;
  int fd = open(path, O_RDWR);
  getlk("child", fd, F_GETLK, F_WRLCK, 0, 0);
  getlk("child", fd, F_GETLK, F_WRLCK, 5, 10);
  getlk("child", fd, F_GETLK, F_RDLCK, 3, 3);
  getlk("child", fd, F_GETLK, F_WRLCK, 6, 1);
  getlk("child", fd, F_GETLK, F_RDLCK, 20, 5);
  printf("child setlk R 0..: %s\n", en(lk(fd, F_SETLK, F_RDLCK, 0, 1)));
  printf("child setlk W 30..: %s\n", en(lk(fd, F_SETLK, F_WRLCK, 30, 5)));
  close(fd);
}

static void child_probe_ofd(void *arg) {
  (void)arg;
  int fd = open(path, O_RDWR);
  getlk("child", fd, F_OFD_GETLK, F_WRLCK, 0, 0);
  getlk("child", fd, F_GETLK, F_WRLCK, 0, 0);
  close(fd);
}

static void child_flock(void *arg) {
  int fd1 = *(int *)arg;
  int fd = open(path, O_RDWR);
  printf("child flock SH|NB own open: %s\n", flock(fd, LOCK_SH | LOCK_NB) ? en(errno) : "0");
  printf("child flock EX|NB inherited: %s\n", flock(fd1, LOCK_EX | LOCK_NB) ? en(errno) : "0");
  close(fd);
}

static void child_wait_lock(void *arg) {
  (void)arg;
  int fd = open(path, O_RDWR);
  printf("child setlkw W 0..9 (blocks)\n");
  fflush(stdout);
  int e = lk(fd, F_SETLKW, F_WRLCK, 0, 10);
  printf("child setlkw: %s\n", en(e));
  close(fd);
}

static void on_alarm(int s) { (void)s; }

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  parent = getpid();
  char dir[64], file[96];
  snprintf(dir, sizeof dir, "/tmp/fs_locks.%d", (int)getpid());
  mkdir(dir, 0700);
  snprintf(file, sizeof file, "%s/f", dir);
  path = file;
  int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 1;
  write(fd, "0123456789abcdefghij", 20);

  // Bad requests.
  int ro = open(file, O_RDONLY);
  printf("W lock on O_RDONLY: %s\n", en(lk(ro, F_SETLK, F_WRLCK, 0, 1)));
  printf("R lock on O_RDONLY: %s\n", en(lk(ro, F_SETLK, F_RDLCK, 0, 1)));
  printf("unlock on O_RDONLY: %s\n", en(lk(ro, F_SETLK, F_UNLCK, 0, 1)));
  close(ro);
  int wo = open(file, O_WRONLY);
  printf("R lock on O_WRONLY: %s\n", en(lk(wo, F_SETLK, F_RDLCK, 0, 1)));
  close(wo);
  printf("bad type: %s\n", en(lk(fd, F_SETLK, 7, 0, 1)));
  printf("negative start: %s\n", en(lk(fd, F_SETLK, F_WRLCK, -1, 1)));
  printf("negative len past 0: %s\n", en(lk(fd, F_SETLK, F_WRLCK, 2, -5)));
  {
    struct flock fl = {.l_type = F_WRLCK, .l_whence = 9, .l_start = 0, .l_len = 1};
    printf("bad whence: %s\n", fcntl(fd, F_SETLK, &fl) < 0 ? en(errno) : "0");
  }
  printf("bad fd: %s\n", en(lk(99, F_SETLK, F_WRLCK, 0, 1)));

  // Ranges: W 0..9, then R 3..5 in the middle splits it; the child sees the pieces.
  printf("W 0..9: %s\n", en(lk(fd, F_SETLK, F_WRLCK, 0, 10)));
  printf("R 3..5: %s\n", en(lk(fd, F_SETLK, F_RDLCK, 3, 3)));
  getlk("parent", fd, F_GETLK, F_WRLCK, 0, 0);
  in_child(child_probe, NULL);
  // Merge: W 3..5 again joins the three pieces into one W 0..9; unlock 0..4 leaves 5..9.
  printf("W 3..5: %s\n", en(lk(fd, F_SETLK, F_WRLCK, 3, 3)));
  printf("unlock 0..4: %s\n", en(lk(fd, F_SETLK, F_UNLCK, 0, 5)));
  in_child(child_probe, NULL);
  // Negative length: [start+len, start-1]; to-EOF lock (len 0).
  printf("W 12-2: %s\n", en(lk(fd, F_SETLK, F_WRLCK, 12, -2)));
  printf("R 40..EOF: %s\n", en(lk(fd, F_SETLK, F_RDLCK, 40, 0)));
  in_child(child_probe, NULL);
  {
    int fd2 = open(file, O_RDONLY);
    // Any close of the file by the owner drops all its POSIX locks.
    close(fd2);
  }
  printf("after closing another fd:\n");
  in_child(child_probe, NULL);

  // OFD locks: owned by the open file description.
  int a = open(file, O_RDWR), b = open(file, O_RDWR);
  printf("ofd W 0..0 on a: %s\n", en(lk(a, F_OFD_SETLK, F_WRLCK, 0, 1)));
  printf("ofd W 0..0 on b: %s\n", en(lk(b, F_OFD_SETLK, F_WRLCK, 0, 1)));
  printf("posix W 0..0 (same process): %s\n", en(lk(fd, F_SETLK, F_WRLCK, 0, 1)));
  getlk("parent", b, F_OFD_GETLK, F_RDLCK, 0, 1);
  {
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1, .l_pid = 5};
    printf("ofd with l_pid: %s\n", fcntl(b, F_OFD_SETLK, &fl) < 0 ? en(errno) : "0");
  }
  int a2 = dup(a);
  close(a2);
  printf("after closing a dup of a:\n");
  in_child(child_probe_ofd, NULL);
  close(a);
  printf("after closing a:\n");
  in_child(child_probe_ofd, NULL);
  close(b);

  // flock: per open file description, separate from POSIX locks.
  int f1 = open(file, O_RDWR), f2 = open(file, O_RDWR);
  printf("flock EX f1: %s\n", flock(f1, LOCK_EX) ? en(errno) : "0");
  printf("flock EX|NB f2: %s\n", flock(f2, LOCK_EX | LOCK_NB) ? en(errno) : "0");
  printf("flock SH|NB f2: %s\n", flock(f2, LOCK_SH | LOCK_NB) ? en(errno) : "0");
  int f1d = dup(f1);
  printf("flock EX|NB dup of f1: %s\n", flock(f1d, LOCK_EX | LOCK_NB) ? en(errno) : "0");
  printf("posix W while flocked: %s\n", en(lk(f2, F_SETLK, F_WRLCK, 0, 1)));
  lk(f2, F_SETLK, F_UNLCK, 0, 1);
  printf("flock bad op: %s\n", flock(f1, 0) ? en(errno) : "0");
  in_child(child_flock, &f1);
  close(f1);
  printf("flock EX|NB f2 after closing f1 (dup open): %s\n", flock(f2, LOCK_EX | LOCK_NB) ? en(errno) : "0");
  close(f1d);
  printf("flock EX|NB f2 after last close: %s\n", flock(f2, LOCK_EX | LOCK_NB) ? en(errno) : "0");
  printf("flock UN f2: %s\n", flock(f2, LOCK_UN) ? en(errno) : "0");
  close(f2);

  // F_SETLKW sleeps until the holder unlocks.
  printf("parent W 0..9: %s\n", en(lk(fd, F_SETLK, F_WRLCK, 0, 10)));
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    child_wait_lock(NULL);
    _exit(0);
  }
  msleep(300);
  printf("parent unlocks\n");
  fflush(stdout);
  lk(fd, F_SETLK, F_UNLCK, 0, 10);
  waitpid(c, NULL, 0);

  // Deadlock: parent holds 0, child holds 1 and waits for 0; parent asking for 1 is EDEADLK.
  int pfd[2];
  pipe(pfd);
  printf("parent W 0: %s\n", en(lk(fd, F_SETLK, F_WRLCK, 0, 1)));
  fflush(stdout);
  c = fork();
  if (c == 0) {
    int cfd = open(file, O_RDWR);
    lk(cfd, F_SETLK, F_WRLCK, 1, 1);
    write(pfd[1], "x", 1);
    int e = lk(cfd, F_SETLKW, F_WRLCK, 0, 1);
    printf("child got 0: %s\n", en(e));
    fflush(stdout);
    _exit(0);
  }
  char ch;
  read(pfd[0], &ch, 1);
  msleep(300);
  printf("parent setlkw 1: %s\n", en(lk(fd, F_SETLKW, F_WRLCK, 1, 1)));
  fflush(stdout);
  lk(fd, F_SETLK, F_UNLCK, 0, 1);
  waitpid(c, NULL, 0);
  // The child's exit released its lock on 1.
  getlk("parent", fd, F_GETLK, F_WRLCK, 0, 0);

  // A signal ends F_SETLKW with EINTR (handler without SA_RESTART).
  fflush(stdout);
  c = fork();
  if (c == 0) {
    int cfd = open(file, O_RDWR);
    lk(cfd, F_SETLK, F_WRLCK, 0, 1);
    write(pfd[1], "x", 1);
    pause();
    _exit(0);
  }
  read(pfd[0], &ch, 1);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  alarm(1);
  printf("setlkw with alarm: %s\n", en(lk(fd, F_SETLKW, F_WRLCK, 0, 1)));
  kill(c, SIGKILL);
  waitpid(c, NULL, 0);
  printf("after holder killed: %s\n", en(lk(fd, F_SETLK, F_WRLCK, 0, 1)));

  close(fd);
  unlink(file);
  rmdir(dir);
  printf("done\n");
  return 0;
}
