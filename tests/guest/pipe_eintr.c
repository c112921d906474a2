// A blocking pipe read interrupted by a signal: EINTR without SA_RESTART, transparently
// restarted with SA_RESTART (then satisfied by a child's later write), and a partial count
// when a blocking write is interrupted after progress.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int hits;
static void on_alarm(int s) {
  (void)s;
  hits++;
}

static void arm(int ms) {
  struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

int main(void) {
  int p[2];
  char buf[16];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  pipe(p);
  arm(50);
  ssize_t r = read(p[0], buf, sizeof buf);
  printf("no SA_RESTART: read=%zd %s hits=%d\n", r, r < 0 ? strerrorname_np(errno) : "-", hits);

  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  pid_t c = fork();
  if (c == 0) {
    usleep(300000);
    write(p[1], "late", 4);
    _exit(0);
  }
  arm(50);
  r = read(p[0], buf, sizeof buf);
  printf("SA_RESTART: read=%zd '%.*s' hits=%d\n", r, (int)(r > 0 ? r : 0), buf, hits);
  waitpid(c, NULL, 0);

  // A 100000-byte write into an empty 64 KiB pipe nobody reads: interrupted after 65536 bytes.
  sa.sa_flags = 0;
  sigaction(SIGALRM, &sa, NULL);
  static char big[100000];
  arm(50);
  r = write(p[1], big, sizeof big);
  printf("interrupted write=%zd hits=%d\n", r, hits);
  return 0;
}
