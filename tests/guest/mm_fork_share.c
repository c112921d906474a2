/* Memory across fork: private (anonymous, heap, file MAP_PRIVATE) pages are copy-on-write —
 * neither side sees the other's stores; MAP_SHARED|MAP_ANONYMOUS and MAP_SHARED file pages are
 * shared, including pages first touched after the fork; a SysV shm segment attached before the
 * fork is shared and its attach count follows fork and exit. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static int global = 1;

static unsigned long nattch(int id) {
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) != 0) return 999;
  return ds.shm_nattch;
}

int main(void) {
  long ps = sysconf(_SC_PAGESIZE);
  char *heap = malloc(100);
  strcpy(heap, "parent heap");
  char *anon = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  strcpy(anon, "private anon");
  char *shared = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  strcpy(shared, "shared before fork");

  char path[] = "/tmp/mm_fork_shareXXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  ftruncate(fd, 2 * ps);
  pwrite(fd, "file page", 9, 0);
  char *fs = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char *fp = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  printf("fp before fork: %s\n", fp);

  int id = shmget(IPC_PRIVATE, 3 * ps, IPC_CREAT | 0600);
  char *shm = shmat(id, NULL, 0);
  strcpy(shm, "shm before fork");
  printf("nattch before fork: %lu\n", nattch(id));

  int ready[2], done[2];
  pipe(ready);
  pipe(done);
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    printf("child nattch: %lu\n", nattch(id));
    global = 2;
    strcpy(heap, "child heap");
    strcpy(anon, "child anon");
    strcpy(fp, "child fp");
    strcpy(shared, "child wrote shared");
    strcpy(shared + 3 * ps, "child, untouched page");
    strcpy(fs + ps, "child file");
    strcpy(shm + 2 * ps, "child shm");
    write(ready[1], "r", 1);
    read(done[0], &c, 1);
    printf("child sees parent: %s | %s | %s\n", shared + ps, fs + 100, shm + 100);
    printf("child still: global=%d heap=%s anon=%s fp=%s\n", global, heap, anon, fp);
    fflush(stdout);
    _exit(7);
  }
  char c;
  read(ready[0], &c, 1);
  printf("parent: global=%d heap=%s anon=%s fp=%s\n", global, heap, anon, fp);
  printf("parent sees child: %s | %s | %s | %s\n", shared, shared + 3 * ps, fs + ps, shm + 2 * ps);
  char buf[16] = {0};
  pread(fd, buf, 10, ps);
  printf("read() sees child: %s\n", buf);
  strcpy(shared + ps, "parent shared");
  strcpy(fs + 100, "parent file");
  strcpy(shm + 100, "parent shm");
  write(done[1], "d", 1);
  int st;
  waitpid(pid, &st, 0);
  printf("child exit %d, nattch after child exit: %lu\n", WEXITSTATUS(st), nattch(id));
  shmdt(shm);
  shmctl(id, IPC_RMID, NULL);
  return 0;
}
