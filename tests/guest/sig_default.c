// Default actions seen by a parent: terminate (raise, kill from the parent while the child
// blocks in read), core signals (no core bit with RLIMIT_CORE 0), SIGKILL, exit codes, the SIGCHLD
// siginfo (CLD_EXITED / CLD_KILLED, si_pid, si_status), and job control: SIGSTOP seen with
// WUNTRACED, SIGCONT seen with WCONTINUED, default-ignored signals.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int chld_code, chld_status, chld_pid_ok, nchld;
static volatile pid_t expect_pid;

static void on_chld(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  nchld++;
  chld_code = si->si_code;
  chld_status = si->si_status;
  chld_pid_ok = si->si_pid == expect_pid;
}

static void describe(const char *what, int st) {
  if (WIFEXITED(st))
    printf("%s: exited %d\n", what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st))
    printf("%s: killed by %d core=%d\n", what, WTERMSIG(st), WCOREDUMP(st) ? 1 : 0);
  else if (WIFSTOPPED(st))
    printf("%s: stopped by %d\n", what, WSTOPSIG(st));
  else if (WIFCONTINUED(st))
    printf("%s: continued\n", what);
  else
    printf("%s: status 0x%x\n", what, st);
}

static const char *code_name(int c) {
  switch (c) {
  case CLD_EXITED: return "CLD_EXITED";
  case CLD_KILLED: return "CLD_KILLED";
  case CLD_DUMPED: return "CLD_DUMPED";
  case CLD_STOPPED: return "CLD_STOPPED";
  case CLD_CONTINUED: return "CLD_CONTINUED";
  default: return "?";
  }
}

static int run(const char *what, void (*child)(void)) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, &old);
  pid_t p = fork();
  if (p == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    child();
    _exit(99);
  }
  expect_pid = p;
  nchld = 0;
  int st;
  waitpid(p, &st, 0);
  describe(what, st);
  sigprocmask(SIG_SETMASK, &old, NULL); // SIGCHLD is delivered here
  printf("  SIGCHLD: n=%d %s status=%d pid_ok=%d\n", nchld, code_name(chld_code), chld_status, chld_pid_ok);
  return st;
}

static void c_exit3(void) { exit(3); }
static void c_term(void) { raise(SIGTERM); }
static void c_segv(void) { raise(SIGSEGV); }
static void c_abort(void) { abort(); }
static void c_kill(void) { kill(getpid(), SIGKILL); }
static void c_ignored(void) {
  raise(SIGCHLD);
  raise(SIGWINCH);
  raise(SIGURG);
  raise(SIGCONT);
  exit(7);
}
static void c_usr1_unblock(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigprocmask(SIG_BLOCK, &s, NULL);
  raise(SIGUSR1);
  write(1, "  child: USR1 blocked, still alive\n", 35);
  sigprocmask(SIG_UNBLOCK, &s, NULL);
  write(1, "  not reached\n", 14);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_chld;
  sa.sa_flags = SA_SIGINFO | SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);

  run("exit(3)", c_exit3);
  run("raise(SIGTERM)", c_term);
  run("raise(SIGSEGV)", c_segv);
  run("abort()", c_abort);
  run("kill(self, SIGKILL)", c_kill);
  run("default-ignored signals", c_ignored);
  run("unblocked USR1", c_usr1_unblock);

  // A child blocked in read() is killed by the parent's SIGTERM.
  int fds[2];
  pipe(fds);
  pid_t p = fork();
  if (p == 0) {
    char c;
    read(fds[0], &c, 1);
    _exit(1);
  }
  usleep(50000);
  kill(p, SIGTERM);
  int st;
  waitpid(p, &st, 0);
  describe("SIGTERM while in read", st);

  // Job control: stop and continue.
  sa.sa_flags = SA_SIGINFO | SA_RESTART; // now CLD_STOPPED / CLD_CONTINUED are sent too
  sigaction(SIGCHLD, &sa, NULL);
  int go[2];
  pipe(go);
  p = fork();
  if (p == 0) {
    char c;
    raise(SIGSTOP);
    read(go[0], &c, 1); // exit only after the parent saw the SIGCONT
    write(1, "  child: continued\n", 19);
    _exit(5);
  }
  expect_pid = p;
  waitpid(p, &st, WUNTRACED);
  describe("raise(SIGSTOP)", st);
  usleep(20000);
  printf("  SIGCHLD: %s status=%d\n", code_name(chld_code), chld_status);
  kill(p, SIGCONT);
  waitpid(p, &st, WCONTINUED);
  describe("SIGCONT", st);
  write(go[1], "g", 1);
  waitpid(p, &st, 0);
  describe("after continue", st);
  return 0;
}
