// SysV IPC and shared futexes across fork: a semaphore-guarded producer/consumer, blocking
// semop woken by another process, message-queue ping-pong with typed replies, a receiver
// woken by IPC_RMID (EIDRM), and FUTEX_WAIT/FUTEX_WAKE on a MAP_SHARED page.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

union semun {
  int val;
  unsigned short *array;
};

static void status(const char *what, int st) {
  if (WIFEXITED(st)) printf("%s: exit %d\n", what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) printf("%s: killed by %d\n", what, WTERMSIG(st));
}

static long futex(atomic_int *uaddr, int op, int val) {
  return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

struct msg {
  long mtype;
  int value;
};

int main(void) {
  // 1. Producer/consumer with two semaphores (empty = 4 slots, full = 0) over a pipe-free
  //    shared counter: the semaphores alone order the hand-offs.
  int sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
  unsigned short init[2] = {4, 0};
  union semun a = {.array = init};
  semctl(sem, 0, SETALL, a);
  int *ring = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pid_t prod = fork();
  if (prod == 0) {
    for (int i = 1; i <= 200; i++) {
      struct sembuf down = {0, -1, 0}, up = {1, 1, 0};
      semop(sem, &down, 1);
      ring[i % 4] = i;
      semop(sem, &up, 1);
    }
    _exit(0);
  }
  long sum = 0;
  for (int i = 1; i <= 200; i++) {
    struct sembuf down = {1, -1, 0}, up = {0, 1, 0};
    semop(sem, &down, 1);
    sum += ring[i % 4];
    semop(sem, &up, 1);
  }
  int st;
  waitpid(prod, &st, 0);
  status("producer", st);
  printf("consumer sum=%ld (expect %d)\n", sum, 200 * 201 / 2);
  // 2. A child blocked on wait-for-zero is released when the parent brings the value to 0.
  a.val = 1;
  semctl(sem, 0, SETVAL, a);
  pid_t z = fork();
  if (z == 0) {
    struct sembuf wz = {0, 0, 0};
    int r = semop(sem, &wz, 1);
    _exit(r == 0 ? 10 : 1);
  }
  for (int i = 0; i < 500 && semctl(sem, 0, GETZCNT) == 0; i++) usleep(10000);
  printf("GETZCNT while child waits=%d\n", semctl(sem, 0, GETZCNT));
  struct sembuf dec = {0, -1, 0};
  semop(sem, &dec, 1);
  waitpid(z, &st, 0);
  status("zero waiter", st);
  // 3. A child blocked in semop sees EIDRM when the set is removed.
  pid_t rm = fork();
  if (rm == 0) {
    struct sembuf d = {1, -1, 0};
    int r = semop(sem, &d, 1);
    _exit(r < 0 && errno == EIDRM ? 20 : 1);
  }
  for (int i = 0; i < 500 && semctl(sem, 1, GETNCNT) == 0; i++) usleep(10000);
  printf("GETNCNT while child waits=%d\n", semctl(sem, 1, GETNCNT));
  semctl(sem, 0, IPC_RMID);
  waitpid(rm, &st, 0);
  status("semop during IPC_RMID", st);

  // 4. Message ping-pong: requests type 1, replies typed by the requester's pid.
  int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  pid_t srv = fork();
  if (srv == 0) {
    struct msg m;
    for (;;) {
      if (msgrcv(q, &m, sizeof m.value, 1, 0) < 0) _exit(2);
      if (m.value < 0) _exit(30);
      struct msg reply = {100 + m.value % 3, m.value * m.value};
      msgsnd(q, &reply, sizeof reply.value, 0);
    }
  }
  long sq = 0;
  for (int i = 1; i <= 50; i++) {
    struct msg m = {1, i};
    msgsnd(q, &m, sizeof m.value, 0);
    msgrcv(q, &m, sizeof m.value, 100 + i % 3, 0);
    sq += m.value;
  }
  struct msg stop = {1, -1};
  msgsnd(q, &stop, sizeof stop.value, 0);
  waitpid(srv, &st, 0);
  status("server", st);
  printf("sum of squares=%ld (expect %d)\n", sq, 50 * 51 * 101 / 6);
  // 5. A receiver waiting for a type that never comes is woken by IPC_RMID.
  pid_t wr = fork();
  if (wr == 0) {
    struct msg m;
    ssize_t r = msgrcv(q, &m, sizeof m.value, 42, 0);
    _exit(r < 0 && errno == EIDRM ? 40 : 1);
  }
  usleep(300000); // no counter shows a sleeping receiver: give it time to block
  msgctl(q, IPC_RMID, NULL);
  waitpid(wr, &st, 0);
  status("msgrcv during IPC_RMID", st);

  // 6. Shared futex on a MAP_SHARED page: the child waits, the parent wakes it.
  atomic_int *f = (atomic_int *)(ring + 100);
  atomic_store(f, 0);
  pid_t fw = fork();
  if (fw == 0) {
    while (atomic_load(f) == 0) futex(f, FUTEX_WAIT, 0);
    _exit(atomic_load(f));
  }
  usleep(50000);
  atomic_store(f, 55);
  long woke = futex(f, FUTEX_WAKE, 1);
  waitpid(fw, &st, 0);
  status("futex waiter", st);
  printf("woken at most one=%d\n", woke == 0 || woke == 1);
  // A private futex op on the same word does not reach the other process's shared waiter.
  atomic_store(f, 0);
  fw = fork();
  if (fw == 0) {
    struct timespec ts = {0, 200 * 1000 * 1000};
    long r = syscall(SYS_futex, f, FUTEX_WAIT, 0, &ts, NULL, 0);
    _exit(r < 0 && errno == ETIMEDOUT ? 60 : 1);
  }
  usleep(50000);
  printf("private wake of a shared waiter in another process=%ld\n", futex(f, FUTEX_WAKE_PRIVATE, 1));
  waitpid(fw, &st, 0);
  status("timed futex waiter", st);
  return 0;
}
