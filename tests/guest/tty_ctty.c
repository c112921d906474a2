// Controlling-tty rules that need hooks outside the tty code (move to tests/guest/ once they pass):
//  1. a session leader opening a tty with O_NOCTTY does not acquire it (needs open.ts to keep
//     O_NOCTTY in f_flags until the driver's open has run, as do_dentry_open does);
//  2. a session leader's exit sends SIGHUP to its pty's foreground group (needs do_exit to call
//     ttyOnSessionLeaderExit, i.e. disassociate_ctty(1)).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int hup[2];
static void on_hup(int sig) {
  (void)sig;
  if (write(hup[1], "H", 1) < 0) _exit(2);
  _exit(0);
}

static void wait_byte(int fd) {
  char c;
  if (read(fd, &c, 1) != 1) _exit(98);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || grantpt(m) || unlockpt(m)) return 1;
  char path[64];
  snprintf(path, sizeof path, "%s", ptsname(m));

  // 1. O_NOCTTY.
  pid_t c = fork();
  if (c == 0) {
    setsid();
    int s = open(path, O_RDWR | O_NOCTTY);
    int t = open("/dev/tty", O_RDWR);
    _exit(s >= 0 && t < 0 && errno == ENXIO ? 0 : 1);
  }
  int st;
  waitpid(c, &st, 0);
  printf("O_NOCTTY open by a session leader leaves it without a tty: %s\n", WEXITSTATUS(st) == 0 ? "yes" : "no");

  // 2. SIGHUP to the foreground group when the session leader exits.
  if (pipe(hup)) return 1;
  c = fork();
  if (c == 0) {
    setsid();
    int s = open(path, O_RDWR);
    int rdy[2];
    if (pipe(rdy)) _exit(1);
    pid_t b = fork();
    if (b == 0) {
      close(hup[0]);
      signal(SIGHUP, on_hup);
      if (write(rdy[1], "r", 1) < 0) _exit(1);
      for (;;) pause();
    }
    setpgid(b, b);
    wait_byte(rdy[0]);
    tcsetpgrp(s, b);
    _exit(0);
  }
  close(hup[1]);
  waitpid(c, &st, 0);
  struct pollfd hp = {hup[0], POLLIN, 0};
  char h = 0;
  if (poll(&hp, 1, 3000) == 1 && read(hup[0], &h, 1) != 1) h = 0;
  printf("foreground group got SIGHUP: %s\n", h == 'H' ? "yes" : "no");
  return 0;
}
