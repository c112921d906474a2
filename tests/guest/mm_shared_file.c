/* MAP_SHARED file mappings are the page cache: write() is seen through the mapping, stores through
 * the mapping are seen by read() and by a second mapping of the same file; MAP_PRIVATE pages see
 * the file until the process writes them (copy-on-write), then keep their own copy; mprotect and
 * munmap on shared mappings; ftruncate then access beyond EOF is SIGBUS; mincore. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int got;
static void on_sig(int sig) { got = sig; siglongjmp(jb, 1); }

static int probe_read(volatile char *p) {
  got = 0;
  if (sigsetjmp(jb, 1) == 0) { (void)*p; return 0; }
  return got;
}
static int probe_write(volatile char *p, char v) {
  got = 0;
  if (sigsetjmp(jb, 1) == 0) { *p = v; return 0; }
  return got;
}

int main(void) {
  char path[] = "/tmp/mm_shared_fileXXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) { perror("mkstemp"); return 1; }
  unlink(path);
  long ps = sysconf(_SC_PAGESIZE);
  char buf[64];
  if (ftruncate(fd, 3 * ps) != 0) { perror("ftruncate"); return 1; }
  if (pwrite(fd, "hello file", 10, 0) != 10) return 1;

  char *a = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char *b = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char *p = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (a == MAP_FAILED || b == MAP_FAILED || p == MAP_FAILED) { perror("mmap"); return 1; }
  printf("a sees: %.10s\n", a);
  printf("p sees: %.10s\n", p);

  /* write() after the mapping exists: both see it (p's page was not written yet). */
  pwrite(fd, "HELLO", 5, 0);
  printf("after pwrite: a=%.10s b=%.10s p=%.10s\n", a, b, p);

  /* Store through a: b and read() see it. */
  memcpy(a + ps + 100, "via mapping a", 13);
  printf("b sees: %.13s\n", b + ps + 100);
  memset(buf, 0, sizeof buf);
  pread(fd, buf, 13, ps + 100);
  printf("read() sees: %s\n", buf);
  printf("p sees (not yet written): %.13s\n", p + ps + 100);

  /* Private write: COW. p keeps its copy; later file writes no longer show in p's page. */
  p[ps + 100] = 'V';
  printf("p after own write: %.13s, a still: %.13s\n", p + ps + 100, a + ps + 100);
  pwrite(fd, "XYZ", 3, ps + 101);
  printf("after pwrite: a=%.13s p=%.13s\n", a + ps + 100, p + ps + 100);

  /* A page of p never touched sees file changes made through a. */
  memcpy(a + 2 * ps, "third page", 10);
  printf("p third page: %.10s\n", p + 2 * ps);

  /* mprotect a read-only: writes fault, b is unaffected. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sig;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  mprotect(a, 3 * ps, PROT_READ);
  printf("write to ro a: signal %d\n", probe_write(a, 'q'));
  b[0] = 'j';
  printf("a[0] after b write: %c\n", a[0]);
  mprotect(a, 3 * ps, PROT_READ | PROT_WRITE);
  a[1] = 'E';
  pread(fd, buf, 5, 0);
  buf[5] = 0;
  printf("file start: %s\n", buf);

  /* mincore: pages in the page cache are resident. */
  unsigned char vec[3];
  if (mincore(b, 3 * ps, vec) == 0) printf("mincore b: %d %d %d\n", vec[0] & 1, vec[1] & 1, vec[2] & 1);

  /* munmap the middle page of a: b still works; a's hole faults. */
  munmap(a + ps, ps);
  printf("b middle after munmap of a's: %.13s\n", b + ps + 100);
  printf("read a hole: signal %d\n", probe_read(a + ps));

  /* Shrink the file: beyond EOF is SIGBUS, below still works. */
  ftruncate(fd, ps);
  printf("b[0] after truncate: %c\n", b[0]);
  printf("read b beyond EOF: signal %d\n", probe_read(b + 2 * ps));
  printf("read p beyond EOF (cow page): signal %d\n", probe_read(p + ps + 100));
  ftruncate(fd, 3 * ps);
  printf("after regrow b third page: %d\n", b[2 * ps]);

  /* msync is fine on shared mappings. */
  printf("msync: %d\n", msync(b, ps, MS_SYNC));
  struct stat st;
  fstat(fd, &st);
  printf("size %ld\n", (long)st.st_size);
  munmap(a, 3 * ps);
  munmap(b, 3 * ps);
  munmap(p, 3 * ps);
  close(fd);
  return 0;
}
