// SysV semaphores and message queues in one process: creation rules, all-or-nothing semop,
// IPC_NOWAIT, SEM_UNDO bookkeeping, semctl commands; message type selection, E2BIG/ENOMSG,
// MSG_NOERROR, MSG_EXCEPT, full queues; removal.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

union semun {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
};

#define E(x) ((x) < 0 ? strerrorname_np(errno) : "ok")

static void show_sems(int id, int n) {
  unsigned short v[8];
  union semun a = {.array = v};
  semctl(id, 0, GETALL, a);
  printf("  vals:");
  for (int i = 0; i < n; i++) printf(" %d", v[i]);
  printf("\n");
}

struct msgbuf_ {
  long mtype;
  char mtext[9000];
};

int main(void) {
  key_t key = 0x4c560000 + (getpid() & 0xffff);
  // --- semaphores ---
  int id = semget(key, 3, 0600);
  printf("semget missing key: %s\n", E(id));
  id = semget(key, 3, IPC_CREAT | IPC_EXCL | 0600);
  printf("semget create: %s\n", E(id));
  printf("semget again EXCL: %s\n", E(semget(key, 3, IPC_CREAT | IPC_EXCL | 0600)));
  printf("semget same key: %s\n", semget(key, 3, 0) == id ? "same id" : "different");
  printf("semget more sems than set: %s\n", E(semget(key, 4, 0)));
  printf("semget nsems 0 new: %s\n", E(semget(IPC_PRIVATE, 0, 0600)));
  struct semid_ds ds;
  union semun a = {.buf = &ds};
  semctl(id, 0, IPC_STAT, a);
  printf("IPC_STAT nsems=%lu mode=%o otime=%ld ctime_set=%d\n", (unsigned long)ds.sem_nsems,
         ds.sem_perm.mode & 0777, (long)ds.sem_otime, ds.sem_ctime != 0);
  show_sems(id, 3);
  a.val = 5;
  printf("SETVAL 5: %s\n", E(semctl(id, 0, SETVAL, a)));
  a.val = 40000;
  printf("SETVAL 40000: %s\n", E(semctl(id, 0, SETVAL, a)));
  printf("GETVAL=%d GETPID is me=%d\n", semctl(id, 0, GETVAL), semctl(id, 0, GETPID) == getpid());
  printf("GETVAL bad semnum: %s\n", E(semctl(id, 7, GETVAL)));
  // All or nothing: sem0 -= 2 succeeds but sem1 -= 1 would block → nothing changes.
  struct sembuf ops[2] = {{0, -2, IPC_NOWAIT}, {1, -1, IPC_NOWAIT}};
  printf("semop partial-blocking NOWAIT: %s\n", E(semop(id, ops, 2)));
  show_sems(id, 3);
  ops[1].sem_op = 1;
  printf("semop both ok: %s\n", E(semop(id, ops, 2)));
  show_sems(id, 3);
  a.buf = &ds;
  printf("IPC_STAT: %s\n", E(semctl(id, 0, IPC_STAT, a)));
  printf("otime set=%d\n", ds.sem_otime != 0);
  struct sembuf z = {2, 0, 0};
  printf("wait-for-zero on zero: %s\n", E(semop(id, &z, 1)));
  struct sembuf big = {0, 32767, 0};
  printf("overflow: %s\n", E(semop(id, &big, 1)));
  struct sembuf badnum = {5, 1, 0};
  printf("semnum out of range: %s\n", E(semop(id, &badnum, 1)));
  printf("nsops 0: %s\n", E(semop(id, ops, 0)));
  // Same semaphore twice in one call: applied in sequence.
  struct sembuf seq[2] = {{2, 3, 0}, {2, -3, 0}};
  printf("+3 then -3 on one sem: %s\n", E(semop(id, seq, 2)));
  show_sems(id, 3);
  // SEM_UNDO within the process.
  struct sembuf u = {1, 4, SEM_UNDO};
  printf("semop SEM_UNDO +4: %s\n", E(semop(id, &u, 1)));
  show_sems(id, 3);
  // Timed wait that times out.
  struct timespec ts = {0, 50 * 1000 * 1000};
  struct sembuf w = {2, -1, 0};
  printf("semtimedop timeout: %s\n", E(semtimedop(id, &w, 1, &ts)));
  printf("GETNCNT=%d GETZCNT=%d\n", semctl(id, 2, GETNCNT), semctl(id, 2, GETZCNT));
  unsigned short all[3] = {1, 2, 3};
  a.array = all;
  printf("SETALL: %s\n", E(semctl(id, 0, SETALL, a)));
  show_sems(id, 3);
  struct seminfo si;
  a.buf = (struct semid_ds *)&si;
  printf("IPC_INFO ok=%d semmsl=%d semopm=%d semvmx=%d\n", semctl(id, 0, IPC_INFO, a) >= 0, si.semmsl,
         si.semopm, si.semvmx);
  a.buf = &ds;
  semctl(id, 0, IPC_STAT, a);
  ds.sem_perm.mode = 0640;
  printf("IPC_SET: %s\n", E(semctl(id, 0, IPC_SET, a)));
  semctl(id, 0, IPC_STAT, a);
  printf("mode now %o\n", ds.sem_perm.mode & 0777);
  printf("IPC_RMID: %s\n", E(semctl(id, 0, IPC_RMID)));
  printf("GETVAL after RMID: %s\n", E(semctl(id, 0, GETVAL)));
  printf("semop after RMID: %s\n", E(semop(id, &z, 1)));

  // --- message queues ---
  int q = msgget(key, IPC_CREAT | 0600);
  printf("msgget: %s\n", E(q));
  static struct msgbuf_ m;
  long types[] = {5, 2, 7, 2, 1, 9};
  for (int i = 0; i < 6; i++) {
    m.mtype = types[i];
    int n = sprintf(m.mtext, "msg%d-type%ld", i, types[i]);
    if (msgsnd(q, &m, n + 1, 0) < 0) printf("msgsnd %d: %s\n", i, strerrorname_np(errno));
  }
  struct msqid_ds qs;
  msgctl(q, IPC_STAT, &qs);
  printf("qnum=%lu cbytes=%lu qbytes=%lu lspid is me=%d\n", (unsigned long)qs.msg_qnum,
         (unsigned long)qs.__msg_cbytes, (unsigned long)qs.msg_qbytes, qs.msg_lspid == getpid());
  ssize_t r = msgrcv(q, &m, sizeof m.mtext, 2, 0);
  printf("type 2: %zd %ld %s\n", r, m.mtype, m.mtext);
  r = msgrcv(q, &m, sizeof m.mtext, -6, 0);
  printf("type <=6 lowest: %zd %ld %s\n", r, m.mtype, m.mtext);
  r = msgrcv(q, &m, sizeof m.mtext, 5, MSG_EXCEPT);
  printf("type !=5: %zd %ld %s\n", r, m.mtype, m.mtext);
  r = msgrcv(q, &m, 3, 0, 0);
  printf("too small: %zd %s\n", r, strerrorname_np(errno));
  r = msgrcv(q, &m, 3, 0, MSG_NOERROR);
  printf("MSG_NOERROR: %zd %ld %.3s\n", r, m.mtype, m.mtext);
  r = msgrcv(q, &m, sizeof m.mtext, 0, 0);
  printf("first: %zd %ld %s\n", r, m.mtype, m.mtext);
  r = msgrcv(q, &m, sizeof m.mtext, 3, IPC_NOWAIT);
  printf("absent type NOWAIT: %zd %s\n", r, strerrorname_np(errno));
  r = msgrcv(q, &m, sizeof m.mtext, 0, 0);
  printf("last: %zd %ld %s\n", r, m.mtype, m.mtext);
  m.mtype = 0;
  printf("msgsnd type 0: %s\n", E(msgsnd(q, &m, 1, 0)));
  m.mtype = 1;
  printf("msgsnd 8193 bytes: %s\n", E(msgsnd(q, &m, 8193, 0)));
  int sent = 0;
  memset(m.mtext, 'z', 8192);
  while (msgsnd(q, &m, 8192, IPC_NOWAIT) == 0) sent++;
  printf("8192-byte messages until full: %d (%s)\n", sent, strerrorname_np(errno));
  int tiny = 0;
  while (msgsnd(q, &m, 0, IPC_NOWAIT) == 0 && tiny < 20000) tiny++;
  printf("then empty messages: %d (%s)\n", tiny, strerrorname_np(errno));
  msgctl(q, IPC_STAT, &qs);
  printf("qnum=%lu cbytes=%lu\n", (unsigned long)qs.msg_qnum, (unsigned long)qs.__msg_cbytes);
  printf("IPC_RMID: %s\n", E(msgctl(q, IPC_RMID, NULL)));
  printf("msgsnd after RMID: %s\n", E(msgsnd(q, &m, 1, 0)));
  printf("msgctl bad cmd: %s\n", E(msgctl(q, 99, &qs)));
  return 0;
}
