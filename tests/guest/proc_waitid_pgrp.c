/* waitid (P_PID, P_PGID, P_ALL, WNOHANG, WNOWAIT) with its siginfo; process groups and
 * sessions. (Subreapers and PR_SET_PDEATHSIG, which qemu-user does not pass through, are
 * checked by tests/kernel/sched.test.ts on labvisor alone.) */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *code(int c) {
  switch (c) {
  case CLD_EXITED: return "CLD_EXITED";
  case CLD_KILLED: return "CLD_KILLED";
  case CLD_DUMPED: return "CLD_DUMPED";
  case CLD_STOPPED: return "CLD_STOPPED";
  case CLD_CONTINUED: return "CLD_CONTINUED";
  default: return "?";
  }
}

static void showinfo(const char *what, int r, siginfo_t *si, pid_t expect) {
  printf("%s: r=%d signo=%d code=%s pid_ok=%d uid_ok=%d status=%d\n", what, r, si->si_signo, code(si->si_code),
         si->si_pid == expect, si->si_uid == getuid(), si->si_status);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  siginfo_t si;
  /* P_PID, exit code. */
  pid_t p = fork();
  if (p == 0) _exit(33);
  memset(&si, 0x55, sizeof si);
  int r = waitid(P_PID, p, &si, WEXITED);
  showinfo("P_PID exit", r, &si, p);
  /* Killed. */
  p = fork();
  if (p == 0) {
    for (;;) sleep(100);
  }
  kill(p, SIGKILL);
  r = waitid(P_ALL, 0, &si, WEXITED);
  showinfo("P_ALL killed", r, &si, p);
  /* WNOHANG while the child runs: 0 and si_pid 0; WNOWAIT leaves it waitable. */
  int fds[2];
  pipe(fds);
  p = fork();
  if (p == 0) {
    char c;
    close(fds[1]);
    read(fds[0], &c, 1);
    _exit(4);
  }
  close(fds[0]);
  memset(&si, 0x55, sizeof si);
  r = waitid(P_PID, p, &si, WEXITED | WNOHANG);
  printf("WNOHANG running: r=%d si_pid=%d si_signo=%d\n", r, si.si_pid, si.si_signo);
  write(fds[1], "x", 1);
  close(fds[1]);
  r = waitid(P_PID, p, &si, WEXITED | WNOWAIT);
  showinfo("WNOWAIT", r, &si, p);
  r = waitid(P_PID, p, &si, WEXITED);
  showinfo("after WNOWAIT", r, &si, p);
  errno = 0;
  r = waitid(P_PID, p, &si, WEXITED);
  printf("reaped twice: r=%d errno=%s\n", r, strerror(errno));
  errno = 0;
  r = waitid(P_ALL, 0, &si, 0);
  printf("no WEXITED etc: r=%d errno=%s\n", r, strerror(errno));
  errno = 0;
  r = waitid(P_PID, 0, &si, WEXITED);
  printf("P_PID 0: r=%d errno=%s\n", r, strerror(errno));

  /* Process groups: a child in its own group, waited for by group. */
  p = fork();
  if (p == 0) {
    setpgid(0, 0);
    for (;;) sleep(100);
  }
  setpgid(p, p); /* both sides set it: no race */
  printf("child pgid is its pid: %d\n", getpgid(p) == p);
  printf("my pgid unchanged: %d\n", getpgid(0) == getpgrp() && getpgrp() != p);
  pid_t q = fork();
  if (q == 0) {
    for (;;) sleep(100);
  }
  printf("join group: %d\n", setpgid(q, p));
  printf("second child in group: %d\n", getpgid(q) == p);
  errno = 0;
  printf("setpgid to a missing group: %d %s\n", setpgid(q, 0x7ffff0), strerror(errno));
  errno = 0;
  printf("getpgid of no such pid: %d %s\n", getpgid(0x7ffff0), strerror(errno));
  kill(-p, SIGTERM);
  int st, n = 0;
  while (waitpid(-p, &st, 0) > 0) {
    n++;
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM) printf("unexpected status 0x%x\n", st);
  }
  printf("killed group members: %d\n", n);
  /* waitid P_PGID. */
  p = fork();
  if (p == 0) {
    setpgid(0, 0);
    _exit(9);
  }
  setpgid(p, p);
  r = waitid(P_PGID, p, &si, WEXITED);
  showinfo("P_PGID", r, &si, p);

  /* Sessions. */
  p = fork();
  if (p == 0) {
    pid_t s = setsid();
    int ok = s == getpid() && getsid(0) == getpid() && getpgrp() == getpid();
    errno = 0;
    int again = setsid();
    int e = errno;
    int moved = setpgid(0, 0); /* a session leader is already its own group leader: no-op allowed? */
    printf("setsid in child ok=%d again=%d %s setpgid-self=%d\n", ok, again, strerror(e), moved);
    _exit(0);
  }
  waitpid(p, &st, 0);
  errno = 0;
  printf("getsid of my session: %d\n", getsid(0) == getsid(getpid()));

  return 0;
}
