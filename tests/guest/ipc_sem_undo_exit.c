// SEM_UNDO adjustments are applied when a process exits, and wake a waiter blocked on them.
// Needs the exit path to call exitSem() (src/kernel/ipc/sem.ts); moves to tests/guest/ then.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
  pid_t c = fork();
  if (c == 0) {
    struct sembuf ops[2] = {{0, 3, SEM_UNDO}, {1, 1, SEM_UNDO}};
    semop(sem, ops, 2);
    struct sembuf take = {1, -1, 0}; // without undo: stays taken
    semop(sem, &take, 1);
    _exit(0);
  }
  int st;
  waitpid(c, &st, 0);
  printf("after child exit: sem0=%d sem1=%d\n", semctl(sem, 0, GETVAL), semctl(sem, 1, GETVAL));
  // sem1 went 0 → 1 (undo -1) → 0; the undo clamps at 0 instead of going negative.
  // A lock holder that dies releases the lock to a waiter.
  c = fork();
  if (c == 0) {
    struct sembuf lock = {0, 1, SEM_UNDO};
    semop(sem, &lock, 1);
    usleep(100000);
    _exit(0);
  }
  usleep(20000);
  struct sembuf wait0 = {0, 0, 0};
  int r = semop(sem, &wait0, 1);
  printf("wait-for-zero after holder died: %d\n", r);
  waitpid(c, &st, 0);
  semctl(sem, 0, IPC_RMID);
  return 0;
}
