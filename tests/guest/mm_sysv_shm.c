/* SysV shared memory in one process: shmget/shmat/shmdt/shmctl lifecycle, IPC_STAT fields,
 * two attaches of one segment see each other's stores, SHM_RDONLY, SHM_RND, attach at a given
 * address, IPC_RMID with attaches (destroyed on the last detach), error codes; plus
 * MAP_SHARED|MAP_ANONYMOUS basics. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

static sigjmp_buf jb;
static void on_segv(int sig) { (void)sig; siglongjmp(jb, 1); }

static void stat_seg(const char *what, int id) {
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) != 0) {
    printf("%s: IPC_STAT errno %s\n", what, strerror(errno));
    return;
  }
  printf("%s: segsz=%zu nattch=%lu mode=%o cpid_ok=%d lpid_ok=%d uid_ok=%d times_ok=%d\n", what, ds.shm_segsz,
         (unsigned long)ds.shm_nattch, ds.shm_perm.mode, ds.shm_cpid == getpid(),
         ds.shm_lpid == 0 || ds.shm_lpid == getpid(), ds.shm_perm.uid == getuid() && ds.shm_perm.cuid == getuid(),
         ds.shm_ctime != 0);
}

int main(void) {
  long ps = sysconf(_SC_PAGESIZE);
  int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
  if (id < 0) { perror("shmget"); return 1; }
  stat_seg("created", id);

  char *a = shmat(id, NULL, 0);
  char *b = shmat(id, NULL, 0);
  if (a == (void *)-1 || b == (void *)-1) { perror("shmat"); return 1; }
  printf("distinct addresses: %d, zero-filled: %d\n", a != b, a[0] == 0 && a[9999] == 0);
  strcpy(a, "written via a");
  printf("b reads: %s\n", b);
  strcpy(b + 8192, "last page");
  printf("a reads: %s\n", a + 8192);
  stat_seg("two attaches", id);

  /* Read-only attach: stores fault. */
  char *r = shmat(id, NULL, SHM_RDONLY);
  printf("ro attach reads: %s\n", r);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_segv;
  sigaction(SIGSEGV, &sa, NULL);
  if (sigsetjmp(jb, 1) == 0) {
    r[0] = 'x';
    printf("ro store did not fault\n");
  } else {
    printf("ro store faulted\n");
  }
  printf("mprotect ro attach writable: %s\n", mprotect(r, ps, PROT_READ | PROT_WRITE) == 0 ? "ok" : strerror(errno));
  shmdt(r);

  /* Attach at a chosen address, with and without SHM_RND. */
  char *want = mmap(NULL, 8 * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(want, 8 * ps);
  char *f = shmat(id, want + ps, 0);
  printf("fixed attach at requested address: %d reads: %s\n", f == want + ps, f);
  errno = 0;
  void *bad = shmat(id, want + 5 * ps + 12, 0);
  printf("unaligned without SHM_RND: %s\n", bad == (void *)-1 ? strerror(errno) : "attached");
  char *rnd = shmat(id, want + 5 * ps + 12, SHM_RND);
  printf("SHM_RND rounds down: %d\n", rnd == want + 5 * ps);
  errno = 0;
  bad = shmat(id, want + 2 * ps, 0);
  printf("overlapping attach: %s\n", bad == (void *)-1 ? strerror(errno) : "attached");
  stat_seg("four attaches", id);
  shmdt(f);
  shmdt(rnd);
  errno = 0;
  printf("shmdt of non-attach: %d %s\n", shmdt(a + ps), strerror(errno));

  /* Keys: IPC_CREAT|IPC_EXCL, lookup, size check, ENOENT. */
  key_t key = 0x4c560000 + (getpid() & 0xffff);
  int k1 = shmget(key, ps, IPC_CREAT | IPC_EXCL | 0644);
  int k2 = shmget(key, ps, 0);
  errno = 0;
  int k3 = shmget(key, ps, IPC_CREAT | IPC_EXCL | 0644);
  printf("key: same id %d, excl again %s\n", k1 >= 0 && k1 == k2, k3 < 0 ? strerror(errno) : "created");
  errno = 0;
  printf("bigger than segment: %s\n", shmget(key, 2 * ps, 0) < 0 ? strerror(errno) : "ok");
  printf("zero size new: %s\n", shmget(IPC_PRIVATE, 0, 0600) < 0 ? strerror(errno) : "ok");
  shmctl(k1, IPC_RMID, NULL);
  errno = 0;
  printf("after rmid key lookup: %s\n", shmget(key, ps, 0) < 0 ? strerror(errno) : "found");

  /* IPC_SET changes the mode. */
  struct shmid_ds ds;
  shmctl(id, IPC_STAT, &ds);
  ds.shm_perm.mode = 0640;
  printf("IPC_SET: %d\n", shmctl(id, IPC_SET, &ds));
  stat_seg("after set", id);

  /* IPC_RMID while attached: still usable, marked SHM_DEST, gone after the last detach. */
  printf("rmid: %d\n", shmctl(id, IPC_RMID, NULL));
  stat_seg("removed, attached", id);
  strcpy(a, "still works");
  printf("b after rmid: %s\n", b);
  shmdt(a);
  stat_seg("one attach left", id);
  shmdt(b);
  stat_seg("after last detach", id);

  /* Bad ids and commands. */
  errno = 0;
  printf("shmat bad id: %s\n", shmat(-1, NULL, 0) == (void *)-1 ? strerror(errno) : "ok");
  errno = 0;
  printf("shmctl bad cmd: %s\n", shmctl(0, 12345, NULL) < 0 ? strerror(errno) : "ok");

  /* MAP_SHARED|MAP_ANONYMOUS: zero-filled, mincore sees the touched pages, munmap of part. */
  char *s = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  printf("shared anon zero: %d\n", s[0] == 0 && s[4 * ps - 1] == 0);
  strcpy(s + 3 * ps, "shared anon");
  unsigned char vec[4];
  mincore(s, 4 * ps, vec);
  printf("mincore: %d %d %d %d\n", vec[0] & 1, vec[1] & 1, vec[2] & 1, vec[3] & 1);
  munmap(s + ps, ps);
  printf("after partial munmap: %s\n", s + 3 * ps);
  return 0;
}
