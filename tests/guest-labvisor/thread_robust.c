// Robust mutexes. (1) A thread that returns holding one: glibc's thread exit marks it
// FUTEX_OWNER_DIED itself. (2) A process-shared robust mutex whose holder process dies in
// _exit: only the kernel's exit_robust_list walk can release it, so the next locker gets
// EOWNERDEAD instead of hanging.
// Not an oracle test: qemu-user answers set_robust_list with ENOSYS and HANGS in case 2; the
// expected output is what the same source prints on the host's Linux (tests/kernel/labvisor-only.test.ts).
// kernel.exitRobustList is installed at boot (futex.ts installFutexHooks from start_kernel), so
// case 2 does not depend on an earlier futex call having installed it.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t m;

static void *holder(void *arg) {
  (void)arg;
  pthread_mutex_lock(&m);
  return NULL; // exits holding the lock
}

static const char *res(int r) { return r == 0 ? "0" : strerrorname_np(r); }

int main(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&m, &a);
  pthread_t t;
  pthread_create(&t, NULL, holder, NULL);
  pthread_join(t, NULL);
  int r = pthread_mutex_lock(&m);
  printf("thread case: lock after owner died: %s\n", res(r));
  if (r == EOWNERDEAD) printf("consistent: %d\n", pthread_mutex_consistent(&m));
  printf("unlock: %d\n", pthread_mutex_unlock(&m));

  pthread_mutex_t *sm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(sm, &a);
  pid_t c = fork();
  if (c == 0) {
    pthread_mutex_lock(sm);
    _exit(0); // dies holding it: no user-space cleanup
  }
  int st;
  waitpid(c, &st, 0);
  r = pthread_mutex_lock(sm);
  printf("process case: lock after owner died: %s\n", res(r));
  if (r == EOWNERDEAD) printf("consistent: %d\n", pthread_mutex_consistent(sm));
  printf("unlock: %d\n", pthread_mutex_unlock(sm));
  return 0;
}
