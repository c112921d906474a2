/* mremap of shared mappings: a MAP_SHARED file mapping moved and grown keeps mapping the page cache
 * (stores in the grown part reach read(), write() shows in the mapping), shrinks in place; a shared
 * anonymous mapping keeps its contents when moved. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
  long ps = sysconf(_SC_PAGESIZE);
  char path[] = "/tmp/mrXXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  ftruncate(fd, 4 * ps);
  char *a = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  strcpy(a, "first");
  char *block = mmap(a + ps, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  char *b = mremap(a, ps, 4 * ps, MREMAP_MAYMOVE);
  if (b == MAP_FAILED) { perror("mremap"); return 1; }
  printf("moved: %d, keeps: %s\n", b != a, b);
  strcpy(b + 3 * ps, "grown part");
  char buf[16] = {0};
  pread(fd, buf, 10, 3 * ps);
  printf("read() sees: %s\n", buf);
  pwrite(fd, "FIRST", 5, 0);
  printf("mapping sees: %s\n", b);
  char *c = mremap(b, 4 * ps, 2 * ps, 0);
  printf("shrunk in place: %d\n", c == b);
  munmap(block, ps);
  munmap(c, 2 * ps);
  /* shared anon grown by mremap */
  char *s = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  strcpy(s, "anon");
  char *t = mremap(s, 2 * ps, 3 * ps, MREMAP_MAYMOVE);
  printf("shared anon after mremap: %s\n", t);
  return 0;
}
