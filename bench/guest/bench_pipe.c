/*
 * Pipe throughput benchmark for `npm run bench:proc`: fork; the child writes 64 KiB chunks into a pipe, the parent
 * reads them, until MIB mebibytes have passed or SECONDS of wall-clock time, whichever ends first; prints MB/s
 * (10^6 bytes per second) of data the parent received.
 * Usage: bench_pipe [MIB=256] [SECONDS=3]
 * Last line: `rate=<MB/s>`, which bench/proc.ts parses. Exits 1 on any failure.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char buf[CHUNK];

int main(int argc, char **argv) {
    long long total = (argc > 1 ? atoll(argv[1]) : 256) << 20;
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    int fds[2];
    if (pipe(fds) < 0) {
        fprintf(stderr, "pipe: %s\n", strerror(errno));
        return 1;
    }
    double start = now();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        /* The writer: stops at EPIPE when the reader has had enough (SIGPIPE ignored so that is an error return). */
        signal(SIGPIPE, SIG_IGN);
        close(fds[0]);
        for (int i = 0; i < CHUNK; i++) buf[i] = (char)(i * 7 + 1);
        long long sent = 0;
        while (sent < total) {
            ssize_t n = write(fds[1], buf, CHUNK);
            if (n < 0) {
                if (errno == EINTR) continue;
                _exit(errno == EPIPE ? 0 : 1);
            }
            sent += n;
        }
        _exit(0);
    }
    close(fds[1]);
    long long got = 0;
    unsigned sum = 0;
    double elapsed = 0;
    for (;;) {
        ssize_t n = read(fds[0], buf, CHUNK);
        if (n < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "read: %s\n", strerror(errno));
            return 1;
        }
        if (n == 0) break;
        sum += (unsigned char)buf[0] + (unsigned char)buf[n - 1];
        got += n;
        if ((got & ((1 << 20) - 1)) == 0 || got >= total) {
            elapsed = now() - start;
            if (elapsed >= seconds || got >= total) break;
        }
    }
    close(fds[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "writer failed (status 0x%x)\n", status);
        return 1;
    }
    elapsed = now() - start;
    if (got == 0) {
        fprintf(stderr, "no data read\n");
        return 1;
    }
    printf("pipe: %lld bytes in 64 KiB writes in %.3f s (check %u)\n", got, elapsed, sum & 0xff);
    printf("rate=%.1f\n", got / elapsed / 1e6);
    return 0;
}
