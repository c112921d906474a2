// Pipe semantics in one process: capacity, F_SETPIPE_SZ, FIONREAD, EOF, EPIPE, poll, O_DIRECT, FIFO.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static void show_poll(const char *what, int fd, short ev) {
  struct pollfd p = {fd, ev, 0};
  int r = poll(&p, 1, 0);
  printf("%s: poll=%d revents=%#x\n", what, r, p.revents);
}

int main(void) {
  int p[2];
  char buf[70000];
  if (pipe2(p, O_NONBLOCK) != 0) return 1;
  struct stat st;
  fstat(p[0], &st);
  printf("S_ISFIFO=%d mode=%o\n", S_ISFIFO(st.st_mode), st.st_mode & 0777);
  printf("F_GETPIPE_SZ=%d\n", fcntl(p[0], F_GETPIPE_SZ));
  printf("lseek=%ld errno=%s\n", (long)lseek(p[0], 0, SEEK_SET), strerrorname_np(errno));
  {
    char link[64], target[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", p[0]);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    unsigned long ino = 0;
    char end = 0;
    int ok = sscanf(target, "pipe:[%lu%c", &ino, &end) == 2 && end == ']' && ino == (unsigned long)st.st_ino;
    printf("/proc/self/fd names it pipe:[st_ino]: %d\n", ok);
  }
  show_poll("empty read end", p[0], POLLIN);
  show_poll("empty write end", p[1], POLLOUT);
  // Fill with one-byte writes: small writes merge into pages, so the capacity is 64 KiB.
  long total = 0;
  for (;;) {
    ssize_t w = write(p[1], "x", 1);
    if (w < 0) {
      printf("fill stopped: %s\n", strerrorname_np(errno));
      break;
    }
    total += w;
  }
  printf("capacity(1-byte writes)=%ld\n", total);
  int n = -1;
  ioctl(p[0], FIONREAD, &n);
  printf("FIONREAD=%d\n", n);
  show_poll("full write end", p[1], POLLOUT);
  show_poll("full read end", p[0], POLLIN);
  printf("shrink below content: %d %s\n", fcntl(p[1], F_SETPIPE_SZ, 4096), strerrorname_np(errno));
  ssize_t r = read(p[0], buf, sizeof buf);
  printf("read all=%zd\n", r);
  r = read(p[0], buf, 10);
  printf("read empty nonblock=%zd %s\n", r, strerrorname_np(errno));
  // Big writes: a 70000-byte nonblocking write is split.
  memset(buf, 'a', sizeof buf);
  r = write(p[1], buf, sizeof buf);
  printf("big write=%zd\n", r);
  while (read(p[0], buf, sizeof buf) > 0) {
  }
  printf("F_SETPIPE_SZ(5000)=%d\n", fcntl(p[1], F_SETPIPE_SZ, 5000));
  printf("F_SETPIPE_SZ(100)=%d\n", fcntl(p[1], F_SETPIPE_SZ, 100));
  printf("F_SETPIPE_SZ(1 MiB)=%d\n", fcntl(p[1], F_SETPIPE_SZ, 1 << 20));
  total = 0;
  memset(buf, 'b', 4096);
  while ((r = write(p[1], buf, 4096)) > 0) total += r;
  printf("capacity(4096-byte writes, 1 MiB pipe)=%ld\n", total);
  fcntl(p[1], F_SETPIPE_SZ, 65536);
  printf("shrink full 1MiB pipe to 64K: %s\n", strerrorname_np(errno));
  while (read(p[0], buf, sizeof buf) > 0) {
  }
  printf("F_SETPIPE_SZ(65536)=%d\n", fcntl(p[1], F_SETPIPE_SZ, 65536));
  // A partial read leaves the rest.
  write(p[1], "hello world", 11);
  r = read(p[0], buf, 5);
  buf[r] = 0;
  printf("partial read: %zd '%s'\n", r, buf);
  r = read(p[0], buf, 100);
  buf[r] = 0;
  printf("rest: %zd '%s'\n", r, buf);
  // EOF once the writer is closed.
  write(p[1], "bye", 3);
  close(p[1]);
  show_poll("read end after writer closed (data)", p[0], POLLIN);
  r = read(p[0], buf, 100);
  printf("read=%zd\n", r);
  show_poll("read end after writer closed (empty)", p[0], POLLIN);
  r = read(p[0], buf, 100);
  printf("read at EOF=%zd\n", r);
  close(p[0]);

  // EPIPE with SIGPIPE ignored.
  signal(SIGPIPE, SIG_IGN);
  pipe(p);
  close(p[0]);
  show_poll("write end without reader", p[1], POLLOUT);
  errno = 0;
  r = write(p[1], "x", 1);
  printf("write without reader=%zd %s\n", r, strerrorname_np(errno));
  close(p[1]);

  // dup keeps the write end alive: no EOF until every copy is closed.
  pipe2(p, O_CLOEXEC);
  printf("cloexec=%d\n", fcntl(p[0], F_GETFD));
  int w2 = dup(p[1]);
  close(p[1]);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  r = read(p[0], buf, 1);
  printf("read with dup'd writer=%zd %s\n", r, strerrorname_np(errno));
  close(w2);
  r = read(p[0], buf, 1);
  printf("read after last writer=%zd\n", r);
  close(p[0]);

  // O_DIRECT: packet mode, each write is one packet.
  if (pipe2(p, O_DIRECT) == 0) {
    write(p[1], "abc", 3);
    write(p[1], "defgh", 5);
    r = read(p[0], buf, 2);
    printf("packet read 1=%zd '%.*s'\n", r, (int)r, buf);
    r = read(p[0], buf, 100);
    printf("packet read 2=%zd '%.*s'\n", r, (int)r, buf);
    close(p[0]);
    close(p[1]);
  }

  // Named FIFO: nonblocking opens.
  const char *path = "/tmp/labvisor_pipe_basic_fifo";
  unlink(path);
  printf("mkfifo=%d\n", mkfifo(path, 0600));
  int wfd = open(path, O_WRONLY | O_NONBLOCK);
  printf("open O_WRONLY|O_NONBLOCK without reader=%d %s\n", wfd, strerrorname_np(errno));
  int rfd = open(path, O_RDONLY | O_NONBLOCK);
  printf("open O_RDONLY|O_NONBLOCK=%s\n", rfd >= 0 ? "ok" : strerrorname_np(errno));
  show_poll("fifo reader, never had a writer", rfd, POLLIN);
  r = read(rfd, buf, 10);
  printf("fifo read without writer=%zd\n", r);
  wfd = open(path, O_WRONLY | O_NONBLOCK);
  printf("open O_WRONLY|O_NONBLOCK with reader=%s\n", wfd >= 0 ? "ok" : strerrorname_np(errno));
  write(wfd, "fifo!", 5);
  r = read(rfd, buf, 10);
  printf("fifo read=%zd '%.*s'\n", r, (int)r, buf);
  close(wfd);
  show_poll("fifo reader after writer closed", rfd, POLLIN);
  int rw = open(path, O_RDWR);
  printf("open O_RDWR=%s\n", rw >= 0 ? "ok" : strerrorname_np(errno));
  write(rw, "rw", 2);
  r = read(rfd, buf, 10);
  printf("read via O_RDWR writer=%zd\n", r);
  fstat(rw, &st);
  printf("fifo S_ISFIFO=%d\n", S_ISFIFO(st.st_mode));
  close(rw);
  close(rfd);
  unlink(path);
  return 0;
}
