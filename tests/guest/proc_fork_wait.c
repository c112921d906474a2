/* fork + wait4/waitpid: exit codes, deaths by signal, vfork, rusage, ECHILD, WNOHANG, __WCLONE. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, int st) {
  if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) printf("%s: killed by %d\n", what, WTERMSIG(st));
  else printf("%s: other 0x%x\n", what, st);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int codes[] = {0, 1, 42, 255, 300};
  for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    pid_t p = fork();
    if (p == 0) _exit(codes[i]);
    int st;
    pid_t w = waitpid(p, &st, 0);
    char buf[32];
    snprintf(buf, sizeof buf, "exit(%d)", codes[i]);
    printf("match=%d ", w == p);
    show(buf, st);
  }
  /* Deaths by signal. */
  pid_t p = fork();
  if (p == 0) {
    kill(getpid(), SIGKILL);
    _exit(1);
  }
  int st;
  waitpid(p, &st, 0);
  show("SIGKILL", st);
  p = fork();
  if (p == 0) {
    int *volatile bad = (int *)8;
    *bad = 1;
    _exit(1);
  }
  waitpid(p, &st, 0);
  show("SIGSEGV", st);
  p = fork();
  if (p == 0) {
    raise(SIGTERM);
    _exit(1);
  }
  waitpid(p, &st, 0);
  show("SIGTERM", st);
  /* A child blocked in a sleep, killed by its parent. */
  p = fork();
  if (p == 0) {
    for (;;) sleep(100);
  }
  kill(p, SIGUSR1);
  waitpid(p, &st, 0);
  show("SIGUSR1 from parent", st);

  /* WNOHANG on a running child, then a blocking wait; wait4 with rusage. */
  int fds[2];
  pipe(fds);
  p = fork();
  if (p == 0) {
    char c;
    close(fds[1]);
    read(fds[0], &c, 1);
    volatile unsigned long x = 0;
    for (unsigned long i = 0; i < 3000000; i++) x += i;
    _exit(7);
  }
  close(fds[0]);
  printf("WNOHANG while running: %d\n", waitpid(p, &st, WNOHANG));
  write(fds[1], "g", 1);
  close(fds[1]);
  struct rusage ru;
  memset(&ru, 0xff, sizeof ru);
  pid_t w = wait4(p, &st, 0, &ru);
  printf("wait4 match=%d ", w == p);
  show("busy child", st);
  printf("rusage sane: %d\n", ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000);
  struct rusage cru;
  getrusage(RUSAGE_CHILDREN, &cru);
  printf("children rusage sane: %d\n", cru.ru_utime.tv_sec >= 0 && cru.ru_utime.tv_usec < 1000000);

  /* vfork: the parent resumes when the child exits (qemu-user makes vfork a fork, so memory
   * sharing is not compared here). */
  p = vfork();
  if (p == 0) _exit(5);
  printf("after vfork\n");
  waitpid(p, &st, 0);
  show("vfork child", st);

  /* Several children reaped in any order by wait(). */
  for (int i = 0; i < 5; i++)
    if (fork() == 0) _exit(10 + i);
  int sum = 0;
  for (int i = 0; i < 5; i++) {
    wait(&st);
    sum += WEXITSTATUS(st);
  }
  printf("sum of 5 statuses: %d\n", sum);

  /* No children. */
  errno = 0;
  printf("wait with no children: %d errno=%s\n", wait(&st), strerror(errno));
  errno = 0;
  printf("waitpid(WNOHANG) with no children: %d errno=%s\n", waitpid(-1, &st, WNOHANG), strerror(errno));
  errno = 0;
  printf("waitpid bad options: %d errno=%s\n", waitpid(-1, &st, 0x100), strerror(errno));
  /* A SIGCHLD child is not a __WCLONE child. */
  p = fork();
  if (p == 0) _exit(3);
  errno = 0;
  printf("__WCLONE for a fork child: %d errno=%s\n", waitpid(p, &st, __WCLONE), strerror(errno));
  printf("__WALL: match=%d\n", waitpid(p, &st, __WALL) == p);
  show("__WALL child", st);
  return 0;
}
