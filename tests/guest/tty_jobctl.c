// Job control on a pty: a child that makes the slave its controlling tty (setsid + open, or
// TIOCSCTTY) is the foreground group; ^C kills it with SIGINT, ^Z stops it (waitpid WUNTRACED),
// TIOCSWINSZ sends SIGWINCH, background reads get SIGTTIN (or EIO when ignored), background
// writes with TOSTOP get SIGTTOU, /dev/tty is the controlling tty (ENXIO without one).
// (The session leader's exit → SIGHUP is tests/guest-wip/tty_ctty.c until the exit path calls the tty.)
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
#include <termios.h>
#include <unistd.h>

static char slave_path[64];

static void say(int fd, const char *s) {
  if (write(fd, s, strlen(s)) < 0) _exit(99);
}

static void wait_byte(int fd) {
  char c;
  if (read(fd, &c, 1) != 1) _exit(98);
}

static void status(const char *what, int st) {
  if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) printf("%s: killed by %s\n", what, sigabbrev_np(WTERMSIG(st)));
  else if (WIFSTOPPED(st)) printf("%s: stopped by %s\n", what, sigabbrev_np(WSTOPSIG(st)));
  else printf("%s: status %#x\n", what, st);
}

/** Drain the master for 150 ms of quiet. */
static void drain(int m, const char *label) {
  char buf[256];
  long n = 0;
  for (;;) {
    struct pollfd p = {m, POLLIN, 0};
    if (poll(&p, 1, 150) <= 0 || !(p.revents & POLLIN)) break;
    long k = read(m, buf + n, sizeof buf - n);
    if (k <= 0) break;
    n += k;
  }
  if (label) {
    printf("%s: \"", label);
    for (long i = 0; i < n; i++) {
      unsigned char c = buf[i];
      if (c == '\r') printf("\\r");
      else if (c == '\n') printf("\\n");
      else putchar(c);
    }
    printf("\"\n");
  }
}

static volatile sig_atomic_t winches;
static void on_winch(int sig) {
  (void)sig;
  winches++;
}

/** In a fresh child: new session, the slave as controlling tty by opening it. */
static int become_session_leader(void) {
  if (setsid() < 0) _exit(90);
  int fd = open("/dev/tty", O_RDWR);
  if (fd >= 0 || errno != ENXIO) _exit(91); // no controlling tty yet
  int s = open(slave_path, O_RDWR);     // no O_NOCTTY: a session leader acquires it
  if (s < 0) _exit(92);
  return s;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || grantpt(m) || unlockpt(m)) return 1;
  snprintf(slave_path, sizeof slave_path, "%s", ptsname(m));
  int sync[2];

  // 1. ^C: SIGINT to the foreground group of a child whose controlling tty is the slave.
  pipe(sync);
  pid_t c = fork();
  if (c == 0) {
    int s = become_session_leader();
    int t = open("/dev/tty", O_RDWR);
    pid_t fg = tcgetpgrp(s);
    char msg[64];
    snprintf(msg, sizeof msg, "%c%c", t >= 0 ? 'T' : 't', fg == getpid() ? 'F' : 'f');
    say(sync[1], msg);
    char buf[16];
    read(s, buf, sizeof buf); // sleeps until ^C kills us
    _exit(0);
  }
  close(sync[1]);
  char ok[2];
  read(sync[0], ok, 2);
  close(sync[0]);
  printf("child: /dev/tty opens=%d, foreground=%d\n", ok[0] == 'T', ok[1] == 'F');
  printf("tcgetpgrp(master) is the child: %d\n", tcgetpgrp(m) == c);
  usleep(100000);
  write(m, "\x03", 1);
  int st;
  waitpid(c, &st, 0);
  status("after ^C", st);
  drain(m, "echo of ^C");

  // 2. ^Z: a job in the foreground group of a session stops (SIGTSTP), its session leader sees it
  //    with waitpid(WUNTRACED); SIGCONT resumes it (WCONTINUED). The leader got the tty by TIOCSCTTY.
  //    (A session leader's own group is orphaned: ^Z would do nothing to it, as in Linux.)
  pipe(sync);
  int go[2];
  pipe(go);
  c = fork();
  if (c == 0) {
    setsid();
    int s = open(slave_path, O_RDWR | O_NOCTTY);
    if (ioctl(s, TIOCSCTTY, 0) < 0) _exit(93);
    pid_t j = fork();
    if (j == 0) {
      setpgid(0, 0);
      wait_byte(go[0]); // in the foreground before the first read
      char buf[16];
      for (;;) read(s, buf, sizeof buf);
    }
    setpgid(j, j);
    tcsetpgrp(s, j);
    say(go[1], "g");
    say(sync[1], "r");
    int jst;
    char out[128];
    int len = 0;
    waitpid(j, &jst, WUNTRACED);
    len += snprintf(out + len, sizeof out - len, "job after ^Z: %s\n", WIFSTOPPED(jst) ? sigabbrev_np(WSTOPSIG(jst)) : "running");
    kill(j, SIGCONT);
    waitpid(j, &jst, WCONTINUED);
    len += snprintf(out + len, sizeof out - len, "job continued: %d\n", WIFCONTINUED(jst));
    kill(j, SIGKILL);
    waitpid(j, &jst, 0);
    len += snprintf(out + len, sizeof out - len, "job after SIGKILL: %s\n", WIFSIGNALED(jst) ? sigabbrev_np(WTERMSIG(jst)) : "?");
    say(sync[1], out);
    _exit(0);
  }
  close(sync[1]);
  wait_byte(sync[0]);
  usleep(100000);
  write(m, "\x1a", 1);
  {
    char big[256] = {0};
    long got = 0, k;
    while ((k = read(sync[0], big + got, sizeof big - 1 - got)) > 0) got += k;
    printf("%s", big);
  }
  close(sync[0]);
  close(go[0]);
  close(go[1]);
  waitpid(c, &st, 0);
  status("session leader 2", st);
  drain(m, "echo of ^Z");

  // 3. TIOCSWINSZ: SIGWINCH to the foreground group when the size changes (not when it does not).
  pipe(sync);
  int back[2];
  pipe(back);
  c = fork();
  if (c == 0) {
    signal(SIGWINCH, on_winch);
    int s = become_session_leader();
    say(sync[1], "r");
    wait_byte(back[0]); // parent resized twice
    struct winsize ws;
    ioctl(s, TIOCGWINSZ, &ws);
    char msg[64];
    snprintf(msg, sizeof msg, "winches=%d size=%dx%d\n", (int)winches, ws.ws_row, ws.ws_col);
    say(sync[1], msg);
    _exit(0);
  }
  close(sync[1]);
  wait_byte(sync[0]);
  struct winsize ws = {.ws_row = 40, .ws_col = 120};
  ioctl(m, TIOCSWINSZ, &ws);
  usleep(50000);
  ioctl(m, TIOCSWINSZ, &ws); // same size: no signal
  usleep(50000);
  say(back[1], "g");
  char msg[64] = {0};
  read(sync[0], msg, sizeof msg - 1);
  printf("child saw %s", msg);
  waitpid(c, &st, 0);
  close(sync[0]);
  close(back[0]);
  close(back[1]);

  // 4. Background jobs in a session: SIGTTIN on read, EIO when SIGTTIN is ignored,
  //    SIGTTOU on write with TOSTOP, plain write without it; then the leader's exit hangs up.
  pipe(sync);
  c = fork();
  if (c == 0) {
    int s = become_session_leader();
    char out[256];
    int len = 0;
    // 4a. background read -> stopped by SIGTTIN
    pid_t b = fork();
    if (b == 0) {
      setpgid(0, 0);
      char buf[8];
      read(s, buf, sizeof buf);
      _exit(7);
    }
    setpgid(b, b);
    int bst;
    waitpid(b, &bst, WUNTRACED);
    len += snprintf(out + len, sizeof out - len, "bg read: %s\n", WIFSTOPPED(bst) ? sigabbrev_np(WSTOPSIG(bst)) : "not stopped");
    kill(b, SIGKILL);
    waitpid(b, &bst, 0);
    // 4b. SIGTTIN ignored -> EIO
    b = fork();
    if (b == 0) {
      setpgid(0, 0);
      signal(SIGTTIN, SIG_IGN);
      char buf[8];
      long r = read(s, buf, sizeof buf);
      _exit(r < 0 && errno == EIO ? 5 : 6);
    }
    setpgid(b, b);
    waitpid(b, &bst, 0);
    len += snprintf(out + len, sizeof out - len, "bg read with SIGTTIN ignored: %s\n", WIFEXITED(bst) && WEXITSTATUS(bst) == 5 ? "EIO" : "other");
    // 4c. background write without TOSTOP: allowed
    b = fork();
    if (b == 0) {
      setpgid(0, 0);
      _exit(write(s, "bgw\n", 4) == 4 ? 0 : 1);
    }
    setpgid(b, b);
    waitpid(b, &bst, 0);
    len += snprintf(out + len, sizeof out - len, "bg write: %s\n", WIFEXITED(bst) && WEXITSTATUS(bst) == 0 ? "written" : "refused");
    // 4d. with TOSTOP: SIGTTOU
    struct termios t;
    tcgetattr(s, &t);
    t.c_lflag |= TOSTOP;
    tcsetattr(s, TCSANOW, &t);
    b = fork();
    if (b == 0) {
      setpgid(0, 0);
      write(s, "no\n", 3);
      _exit(0);
    }
    setpgid(b, b);
    waitpid(b, &bst, WUNTRACED);
    len += snprintf(out + len, sizeof out - len, "bg write with TOSTOP: %s\n", WIFSTOPPED(bst) ? sigabbrev_np(WSTOPSIG(bst)) : "not stopped");
    kill(b, SIGKILL);
    waitpid(b, &bst, 0);
    // 4e. tcsetpgrp to another group of the session makes it the foreground group.
    b = fork();
    if (b == 0) {
      setpgid(0, 0);
      for (;;) pause();
    }
    setpgid(b, b);
    int r = tcsetpgrp(s, b);
    len += snprintf(out + len, sizeof out - len, "tcsetpgrp: %d fg is child: %d\n", r, tcgetpgrp(s) == b);
    kill(b, SIGKILL);
    waitpid(b, &bst, 0);
    say(sync[1], out);
    _exit(0);
  }
  close(sync[1]);
  char big[512] = {0};
  long got = 0, k;
  while ((k = read(sync[0], big + got, sizeof big - 1 - got)) > 0) got += k;
  printf("%s", big);
  waitpid(c, &st, 0);
  status("session leader", st);
  drain(m, "background output");
  close(m);
  return 0;
}
