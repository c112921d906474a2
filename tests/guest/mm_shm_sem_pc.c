/* SysV shm + sem producer/consumer: a ring of 8 slots in a shared memory segment guarded by a
 * three-semaphore set (empty slots, full slots, mutex). The producer (child) writes 200 items,
 * the consumer (parent) reads them in order and checks the sum; then both detach and the
 * segment and set are removed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOTS 8
#define ITEMS 200
enum { EMPTY, FULL, MUTEX };

struct ring {
  int head, tail;
  long items[SLOTS];
  long produced_sum;
};

union semun {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
};

static void sem(int id, int num, int op) {
  struct sembuf b = {.sem_num = num, .sem_op = op, .sem_flg = 0};
  while (semop(id, &b, 1) != 0) {
    if (errno != EINTR) { perror("semop"); exit(1); }
  }
}

int main(void) {
  int shmid = shmget(IPC_PRIVATE, sizeof(struct ring), IPC_CREAT | 0600);
  int semid = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
  if (shmid < 0 || semid < 0) { perror("get"); return 1; }
  unsigned short init[3] = {SLOTS, 0, 1};
  union semun arg = {.array = init};
  if (semctl(semid, 0, SETALL, arg) != 0) { perror("SETALL"); return 1; }
  struct ring *r = shmat(shmid, NULL, 0);
  if (r == (void *)-1) { perror("shmat"); return 1; }

  pid_t pid = fork();
  if (pid == 0) {
    long sum = 0;
    for (long i = 1; i <= ITEMS; i++) {
      sem(semid, EMPTY, -1);
      sem(semid, MUTEX, -1);
      r->items[r->head] = i * i;
      r->head = (r->head + 1) % SLOTS;
      sum += i * i;
      sem(semid, MUTEX, 1);
      sem(semid, FULL, 1);
    }
    r->produced_sum = sum;
    shmdt(r);
    _exit(0);
  }
  long sum = 0, prev = 0;
  int in_order = 1;
  for (int i = 0; i < ITEMS; i++) {
    sem(semid, FULL, -1);
    sem(semid, MUTEX, -1);
    long v = r->items[r->tail];
    r->tail = (r->tail + 1) % SLOTS;
    sem(semid, MUTEX, 1);
    sem(semid, EMPTY, 1);
    if (v <= prev) in_order = 0;
    prev = v;
    sum += v;
  }
  int st;
  waitpid(pid, &st, 0);
  printf("consumed %d items in order: %d, sum %ld, producer sum %ld, child status %d\n", ITEMS, in_order, sum,
         r->produced_sum, WEXITSTATUS(st));
  struct shmid_ds ds;
  shmctl(shmid, IPC_STAT, &ds);
  printf("nattch after producer exit: %lu\n", (unsigned long)ds.shm_nattch);
  printf("semaphores: empty=%d full=%d mutex=%d\n", semctl(semid, EMPTY, GETVAL), semctl(semid, FULL, GETVAL),
         semctl(semid, MUTEX, GETVAL));
  shmdt(r);
  printf("rmid: %d %d\n", shmctl(shmid, IPC_RMID, NULL), semctl(semid, 0, IPC_RMID));
  return 0;
}
