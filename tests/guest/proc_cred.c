// The setuid family as an unprivileged and a privileged caller sees it: which changes are
// allowed (EPERM otherwise), how the saved and filesystem ids follow, setgroups' sorting.
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/wait.h>
#include <unistd.h>

static void ids(const char *what) {
  uid_t r, e, s;
  gid_t gr, ge, gs;
  getresuid(&r, &e, &s);
  getresgid(&gr, &ge, &gs);
  printf("%-28s uid %u/%u/%u gid %u/%u/%u fsuid %d\n", what, r, e, s, gr, ge, gs, setfsuid(-1));
}

static void res(const char *what, int r) { printf("%-28s %s\n", what, r == 0 ? "ok" : strerror(errno)); }

int main(void) {
  ids("start");
  gid_t g[] = {300, 20, 100};
  res("setgroups", setgroups(3, g));
  gid_t out[8];
  int n = getgroups(8, out);
  printf("getgroups %d:", n);
  for (int i = 0; i < n; i++) printf(" %u", out[i]);
  printf("\n");
  res("setgroups(-1 size)", setgroups((size_t)-1, g));
  res("setuid(-1)", setuid(-1));
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    res("setresgid(50,60,70)", setresgid(50, 60, 70));
    res("setresuid(1000,1001,0)", setresuid(1000, 1001, 0));
    ids("after setresuid");
    res("setgroups unprivileged", setgroups(0, NULL));
    res("setuid(0) via saved", setuid(0));
    ids("after setuid(0)");
    res("setreuid(-1,1001)", setreuid(-1, 1001));
    ids("after setreuid(-1,1001)");
    res("setreuid(2000,-1)", setreuid(2000, -1));
    res("seteuid(1000)", seteuid(1000));
    ids("after seteuid(1000)");
    printf("setfsuid(42) old %d\n", setfsuid(42));
    printf("setfsuid(-1) now %d\n", setfsuid(-1));
    printf("setfsuid(1000) old %d\n", setfsuid(1000));
    res("setgid(70) via saved", setgid(70));
    res("setgid(5)", setgid(5));
    res("setresuid(1000,1000,1000)", setresuid(1000, 1000, 1000));
    res("setuid(0) now", setuid(0));
    ids("final child");
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  res("setuid(0) as root", setuid(0));
  ids("parent");
  return 0;
}
