// Pipes across processes: a three-process pipeline, blocking reads and writes woken by the
// other side, EOF after every writer (including inherited copies) closes, SIGPIPE killing a
// writer, a 1 MiB transfer through a 64 KiB pipe, and FIFO opens that block for a partner.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void status(const char *what, int st) {
  if (WIFEXITED(st)) printf("%s: exit %d\n", what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) printf("%s: killed by %s\n", what, sigabbrev_np(WTERMSIG(st)));
}

int main(void) {
  // 1. Pipeline: gen | double | sum, each a process.
  int a[2], b[2];
  pipe(a);
  pipe(b);
  pid_t p1 = fork();
  if (p1 == 0) {
    close(a[0]); close(b[0]); close(b[1]);
    for (int i = 1; i <= 1000; i++) {
      char line[32];
      int n = sprintf(line, "%d\n", i);
      write(a[1], line, n);
    }
    _exit(0);
  }
  pid_t p2 = fork();
  if (p2 == 0) {
    close(a[1]); close(b[0]);
    FILE *in = fdopen(a[0], "r");
    FILE *out = fdopen(b[1], "w");
    int x;
    while (fscanf(in, "%d", &x) == 1) fprintf(out, "%d\n", 2 * x);
    fclose(out);
    _exit(0);
  }
  close(a[0]); close(a[1]); close(b[1]);
  FILE *in = fdopen(b[0], "r");
  long sum = 0;
  int x, count = 0;
  while (fscanf(in, "%d", &x) == 1) {
    sum += x;
    count++;
  }
  fclose(in);
  int st;
  waitpid(p1, &st, 0);
  status("gen", st);
  waitpid(p2, &st, 0);
  status("double", st);
  printf("pipeline: %d lines, sum %ld\n", count, sum);

  // 2. 1 MiB through the pipe with a reader that checks a pattern.
  int p[2];
  pipe(p);
  pid_t w = fork();
  if (w == 0) {
    close(p[0]);
    static unsigned char buf[65536 + 1000];
    long off = 0;
    while (off < (1 << 20)) {
      int n = (int)((off / 7) % sizeof buf) + 1;
      if (n > (1 << 20) - off) n = (1 << 20) - off;
      for (int i = 0; i < n; i++) buf[i] = (unsigned char)((off + i) * 31);
      ssize_t r = write(p[1], buf, n);
      if (r != n) _exit(3);
      off += n;
    }
    _exit(0);
  }
  close(p[1]);
  static unsigned char rb[10000];
  long got = 0, bad = 0;
  ssize_t r;
  while ((r = read(p[0], rb, sizeof rb)) > 0) {
    for (ssize_t i = 0; i < r; i++)
      if (rb[i] != (unsigned char)((got + i) * 31)) bad++;
    got += r;
  }
  close(p[0]);
  waitpid(w, &st, 0);
  status("bulk writer", st);
  printf("bulk: %ld bytes, %ld bad\n", got, bad);

  // 3. Writer blocked on a full pipe is killed by SIGPIPE when the reader exits.
  pipe(p);
  pid_t rd = fork();
  if (rd == 0) {
    close(p[1]);
    char c[100];
    read(p[0], c, sizeof c); // take a little, then leave
    _exit(0);
  }
  close(p[0]);
  pid_t wr = fork();
  if (wr == 0) {
    static char big[200000];
    write(p[1], big, sizeof big);
    _exit(0); // not reached: SIGPIPE
  }
  close(p[1]);
  waitpid(rd, &st, 0);
  status("reader", st);
  waitpid(wr, &st, 0);
  status("writer to a pipe without readers", st);

  // 4. FIFO: a blocking O_RDONLY open waits for the writer opened by the child.
  const char *path = "/tmp/labvisor_pipe_fork_fifo";
  unlink(path);
  mkfifo(path, 0600);
  pid_t c = fork();
  if (c == 0) {
    usleep(50000);
    int fd = open(path, O_WRONLY);
    write(fd, "through the fifo", 16);
    close(fd);
    _exit(0);
  }
  int fd = open(path, O_RDONLY);
  char msg[64] = {0};
  ssize_t n = read(fd, msg, sizeof msg - 1);
  printf("fifo read %zd '%s'\n", n, msg);
  n = read(fd, msg, sizeof msg - 1);
  printf("fifo EOF %zd\n", n);
  close(fd);
  waitpid(c, &st, 0);
  status("fifo writer", st);
  // And the other way: O_WRONLY blocks until the child opens for reading.
  c = fork();
  if (c == 0) {
    usleep(50000);
    int rfd = open(path, O_RDONLY);
    char m2[16] = {0};
    ssize_t k = read(rfd, m2, sizeof m2 - 1);
    _exit(k == 5 && memcmp(m2, "hello", 5) == 0 ? 7 : 1);
  }
  fd = open(path, O_WRONLY);
  write(fd, "hello", 5);
  close(fd);
  waitpid(c, &st, 0);
  status("fifo reader", st);
  unlink(path);
  return 0;
}
