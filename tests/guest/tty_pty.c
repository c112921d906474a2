// Pseudo-terminals as Linux's n_tty and pty driver behave: opening, locking, termios defaults,
// canonical editing and echo, EOF, ONLCR, raw mode with VMIN/VTIME, FIONREAD, TIOCSWINSZ,
// and the hangup rules (master EIO after the slave closes; slave EOF/EIO after the master closes).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, const char *buf, long n) {
  printf("%s: %ld \"", what, n);
  for (long i = 0; i < n; i++) {
    unsigned char c = (unsigned char)buf[i];
    if (c == '\r') printf("\\r");
    else if (c == '\n') printf("\\n");
    else if (c == '\b') printf("\\b");
    else if (c < 32 || c >= 127) printf("\\x%02x", c);
    else putchar(c);
  }
  printf("\"\n");
}

/** Read everything that arrives until the fd has been quiet for 150 ms. */
static long drain(int fd, char *buf, long cap) {
  long n = 0;
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, 150);
    if (r <= 0 || !(p.revents & POLLIN)) break;
    long k = read(fd, buf + n, cap - n);
    if (k <= 0) break;
    n += k;
    if (n == cap) break;
  }
  return n;
}

static void wr(int fd, const char *s) {
  if (write(fd, s, strlen(s)) != (long)strlen(s)) printf("short write\n");
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void slave_reads(int s, const char *label) {
  char buf[256];
  long n = read(s, buf, sizeof buf);
  show(label, buf, n);
}

static int test(void);

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  // A session leader would make a tty its controlling tty on open (a process started by a
  // shell is not one; `labvisor exec`'s first process is): run the checks in a child then.
  if (getsid(0) == getpid()) {
    pid_t c = fork();
    if (c == 0) _exit(test());
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  return test();
}

static int test(void) {
  char buf[512];
  long n;

  int m = posix_openpt(O_RDWR | O_NOCTTY);
  printf("posix_openpt: %s\n", m >= 0 ? "ok" : strerror(errno));
  if (m < 0) return 1;
  const char *name = ptsname(m);
  printf("ptsname under /dev/pts/: %s\n", name && strncmp(name, "/dev/pts/", 9) == 0 ? "yes" : "no");
  char path[64];
  snprintf(path, sizeof path, "%s", name);
  int s = open(path, O_RDWR | O_NOCTTY);
  printf("open locked slave: %d %s\n", s, s < 0 ? strerror(errno) : "");
  printf("grantpt: %d unlockpt: %d\n", grantpt(m), unlockpt(m));
  s = open(path, O_RDWR | O_NOCTTY);
  printf("open slave: %s\n", s >= 0 ? "ok" : strerror(errno));
  printf("isatty master %d slave %d\n", isatty(m), isatty(s));
  unsigned ptn;
  errno = 0;
  printf("TIOCGPTN on slave: %d %s\n", ioctl(s, TIOCGPTN, &ptn), strerror(errno));
  struct stat st;
  fstat(s, &st);
  printf("slave is chr %d major %u\n", S_ISCHR(st.st_mode), major(st.st_rdev));

  struct termios t;
  tcgetattr(s, &t);
  printf("slave termios: i=%#x o=%#x c=%#x l=%#x vmin=%d veof=%d speed=%d\n", t.c_iflag, t.c_oflag, t.c_cflag,
         t.c_lflag, t.c_cc[VMIN], t.c_cc[VEOF], (int)cfgetospeed(&t));
  struct termios tm;
  tcgetattr(m, &tm);
  printf("master sees the slave's termios: %s\n", memcmp(&t, &tm, sizeof t) == 0 ? "yes" : "no");

  // TIOCGPTPEER opens the slave from the master (and only from the master).
  int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  printf("TIOCGPTPEER: %s\n", peer >= 0 ? "ok" : strerror(errno));
  errno = 0;
  printf("TIOCGPTPEER on slave: %d %s\n", ioctl(s, TIOCGPTPEER, O_RDWR), strerror(errno));
  if (peer >= 0) close(peer);

  // Canonical mode: a line, its echo.
  wr(m, "hello\n");
  slave_reads(s, "slave read");
  n = drain(m, buf, sizeof buf);
  show("echo", buf, n);

  // Editing: erase, kill, werase; echo of each.
  wr(m, "abx\x7f" "c\n");
  slave_reads(s, "after erase");
  show("erase echo", buf, drain(m, buf, sizeof buf));
  wr(m, "hello\x15world\n");
  slave_reads(s, "after kill");
  show("kill echo", buf, drain(m, buf, sizeof buf));
  wr(m, "foo bar\x17" "baz\n");
  slave_reads(s, "after werase");
  show("werase echo", buf, drain(m, buf, sizeof buf));
  wr(m, "a\x16\x03z\n");
  slave_reads(s, "after lnext");
  show("lnext echo", buf, drain(m, buf, sizeof buf));

  // A partial line is not readable; FIONREAD counts only complete lines.
  int avail = -1;
  wr(m, "part");
  drain(m, buf, sizeof buf);
  ioctl(s, FIONREAD, &avail);
  printf("FIONREAD with a partial line: %d\n", avail);
  wr(m, "ial\n");
  drain(m, buf, sizeof buf);
  ioctl(s, FIONREAD, &avail);
  printf("FIONREAD with a line: %d\n", avail);
  slave_reads(s, "line");

  // EOF: ends a line without being returned; alone it reads as 0.
  wr(m, "abc\x04");
  slave_reads(s, "before EOF");
  wr(m, "\x04");
  slave_reads(s, "EOF");
  drain(m, buf, sizeof buf);

  // Output: ONLCR on, then off.
  wr(s, "a\nb\n");
  show("ONLCR", buf, drain(m, buf, sizeof buf));
  t.c_oflag &= ~ONLCR;
  tcsetattr(s, TCSANOW, &t);
  wr(s, "a\nb\n");
  show("no ONLCR", buf, drain(m, buf, sizeof buf));
  t.c_oflag |= ONLCR;
  tcsetattr(s, TCSANOW, &t);

  // ECHO off: nothing comes back.
  t.c_lflag &= ~ECHO;
  tcsetattr(s, TCSANOW, &t);
  wr(m, "secret\n");
  slave_reads(s, "no echo read");
  show("no echo", buf, drain(m, buf, sizeof buf));

  // Raw mode and the four VMIN/VTIME cases.
  struct termios raw = t;
  cfmakeraw(&raw);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  tcsetattr(s, TCSAFLUSH, &raw);
  wr(m, "x\x03y\r");
  usleep(50000);
  n = read(s, buf, sizeof buf);
  show("raw", buf, n);
  raw.c_cc[VMIN] = 0;
  raw.c_cc[VTIME] = 0;
  tcsetattr(s, TCSANOW, &raw);
  double t0 = now();
  n = read(s, buf, sizeof buf);
  printf("MIN=0 TIME=0: %ld fast=%d\n", n, now() - t0 < 0.1);
  raw.c_cc[VTIME] = 2;
  tcsetattr(s, TCSANOW, &raw);
  t0 = now();
  n = read(s, buf, sizeof buf);
  double el = now() - t0;
  printf("MIN=0 TIME=2: %ld waited~200ms=%d\n", n, el > 0.15 && el < 1.0);
  raw.c_cc[VMIN] = 3;
  raw.c_cc[VTIME] = 0;
  tcsetattr(s, TCSANOW, &raw);
  if (fork() == 0) {
    usleep(50000);
    wr(m, "ab");
    usleep(100000);
    wr(m, "cd");
    _exit(0);
  }
  n = read(s, buf, sizeof buf);
  show("MIN=3 TIME=0", buf, n);
  raw.c_cc[VMIN] = 5;
  raw.c_cc[VTIME] = 2;
  tcsetattr(s, TCSANOW, &raw);
  if (fork() == 0) {
    usleep(50000);
    wr(m, "pq");
    _exit(0);
  }
  t0 = now();
  n = read(s, buf, sizeof buf);
  el = now() - t0;
  show("MIN=5 TIME=2", buf, n);
  printf("inter-byte timer ended it: %d\n", el > 0.2 && el < 1.5);
  while (wait(NULL) > 0) {
  }

  // Window size.
  struct winsize ws = {0};
  ioctl(s, TIOCGWINSZ, &ws);
  printf("initial winsize %dx%d\n", ws.ws_row, ws.ws_col);
  ws.ws_row = 33;
  ws.ws_col = 101;
  printf("TIOCSWINSZ on master: %d\n", ioctl(m, TIOCSWINSZ, &ws));
  memset(&ws, 0, sizeof ws);
  ioctl(s, TIOCGWINSZ, &ws);
  printf("slave winsize %dx%d\n", ws.ws_row, ws.ws_col);

  // TCFLSH drops unread input.
  tcsetattr(s, TCSANOW, &t);
  wr(m, "dropme\n");
  drain(m, buf, sizeof buf);
  tcflush(s, TCIFLUSH);
  ioctl(s, FIONREAD, &avail);
  printf("after TCIFLUSH: %d\n", avail);

  // The slave closes: what it wrote is still readable, then EIO; poll says POLLHUP.
  wr(s, "bye\n");
  close(s);
  n = drain(m, buf, sizeof buf);
  show("after slave close", buf, n);
  struct pollfd p = {m, POLLIN, 0};
  poll(&p, 1, 0);
  printf("poll master: hup=%d\n", (p.revents & POLLHUP) != 0);
  errno = 0;
  n = read(m, buf, sizeof buf);
  printf("read master: %ld %s\n", n, strerror(errno));

  // Reopen the slave, then close the master: the slave reads EOF and cannot write.
  s = open(path, O_RDWR | O_NOCTTY);
  printf("reopen slave: %s\n", s >= 0 ? "ok" : strerror(errno));
  close(m);
  n = read(s, buf, sizeof buf);
  printf("slave read after master close: %ld\n", n);
  errno = 0;
  n = write(s, "x", 1);
  printf("slave write after master close: %ld %s\n", n, strerror(errno));
  close(s);
  int s2 = open(path, O_RDWR | O_NOCTTY);
  printf("slave node after both closed: %s\n", s2 >= 0 ? "exists" : strerror(errno));
  return 0;
}
