/* The OOM killer (labvisor only: under qemu the host's memory decides). A child touches more
 * anonymous memory than the machine has; the kernel must kill it with SIGKILL and the parent,
 * which holds little memory, must see that and keep running. Prints "ok" and exits 0 when the
 * child died of SIGKILL. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 2; }
  if (pid == 0) {
    size_t chunk = 16 << 20;
    for (;;) {
      char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) { perror("mmap"); _exit(3); }
      for (size_t i = 0; i < chunk; i += 4096) p[i] = 1;
    }
  }
  int st;
  if (waitpid(pid, &st, 0) != pid) { perror("waitpid"); return 2; }
  if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
    printf("ok: child killed by SIGKILL\n");
    /* The parent still works: allocate and use some memory. */
    char *q = malloc(1 << 20);
    memset(q, 7, 1 << 20);
    printf("parent alive, %d\n", q[12345]);
    return 0;
  }
  printf("unexpected status 0x%x\n", st);
  return 1;
}
