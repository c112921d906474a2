// File-system benchmark run inside a booted machine (on its ext4 disk) and, as the reference, under
// qemu-riscv64-static on the host's file system:
//   bench_fs create DIR N SECONDS   create + write 4 KiB + fsync + close N files; prints rate=<files/s>
//   bench_fs seq FILE MIB           write MIB MiB sequentially in 1 MiB writes (through the page cache, one
//                                   fsync at the end), then read it back; prints write=<MB/s> read=<MB/s>
// Times come from CLOCK_MONOTONIC of the system the program runs on.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int create_files(const char *dir, long n, double seconds) {
  static char buf[4096];
  memset(buf, 'x', sizeof buf);
  if (mkdir(dir, 0755) != 0) {
    perror("mkdir");
    return 1;
  }
  char path[4096];
  double t0 = now();
  long i;
  for (i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/f%ld", dir, i);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf || fsync(fd) != 0) {
      perror(path);
      return 1;
    }
    close(fd);
    if ((i & 15) == 15 && now() - t0 > seconds) {
      i++;
      break;
    }
  }
  double dt = now() - t0;
  for (long j = 0; j < i; j++) {
    snprintf(path, sizeof path, "%s/f%ld", dir, j);
    unlink(path);
  }
  rmdir(dir);
  printf("files=%ld seconds=%.3f\nrate=%.1f\n", i, dt, i / dt);
  return 0;
}

static int seq(const char *file, long mib) {
  size_t chunk = 1 << 20;
  char *buf = malloc(chunk);
  if (!buf) return 1;
  for (size_t i = 0; i < chunk; i++) buf[i] = (char)(i * 7 + 3);
  int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    perror(file);
    return 1;
  }
  double t0 = now();
  for (long i = 0; i < mib; i++) {
    if (write(fd, buf, chunk) != (ssize_t)chunk) {
      perror("write");
      return 1;
    }
  }
  if (fsync(fd) != 0) {
    perror("fsync");
    return 1;
  }
  double tw = now() - t0;
  if (lseek(fd, 0, SEEK_SET) != 0) return 1;
  t0 = now();
  long total = 0;
  for (;;) {
    ssize_t r = read(fd, buf, chunk);
    if (r < 0) {
      perror("read");
      return 1;
    }
    if (r == 0) break;
    total += r;
  }
  double tr = now() - t0;
  close(fd);
  unlink(file);
  if (total != mib * (long)chunk) {
    fprintf(stderr, "read back %ld bytes, wrote %ld\n", total, mib * (long)chunk);
    return 1;
  }
  printf("write=%.1f\nread=%.1f\n", mib * 1.048576 / tw, mib * 1.048576 / tr);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "create") == 0) return create_files(argv[2], atol(argv[3]), atof(argv[4]));
  if (argc == 4 && strcmp(argv[1], "seq") == 0) return seq(argv[2], atol(argv[3]));
  fprintf(stderr, "usage: bench_fs create DIR N SECONDS | bench_fs seq FILE MIB\n");
  return 2;
}
