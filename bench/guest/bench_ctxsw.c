/*
 * Context-switch benchmark for `npm run bench:proc`: two processes ping-pong one byte over two pipes, for ROUNDS
 * round trips or SECONDS of wall-clock time, whichever ends first. Each round trip is two switches (parent → child
 * → parent); prints switches per second.
 * Usage: bench_ctxsw [ROUNDS=1000000] [SECONDS=3]
 * Last line: `rate=<switches per second>`, which bench/proc.ts parses. Exits 1 on any failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int xread(int fd, char *c) {
    for (;;) {
        ssize_t n = read(fd, c, 1);
        if (n >= 0) return (int)n;
        if (errno != EINTR) return -1;
    }
}

static int xwrite(int fd, char c) {
    for (;;) {
        ssize_t n = write(fd, &c, 1);
        if (n == 1) return 1;
        if (n < 0 && errno != EINTR) return -1;
    }
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 1000000;
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    int ping[2], pong[2];
    if (pipe(ping) < 0 || pipe(pong) < 0) {
        fprintf(stderr, "pipe: %s\n", strerror(errno));
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        /* Echo every byte back until the parent closes its end. */
        close(ping[1]);
        close(pong[0]);
        char c;
        int r;
        while ((r = xread(ping[0], &c)) == 1)
            if (xwrite(pong[1], c + 1) < 0) _exit(1);
        _exit(r == 0 ? 0 : 1);
    }
    close(ping[0]);
    close(pong[1]);
    double start = now(), elapsed = 0;
    long done = 0;
    char c = 0;
    while (done < rounds) {
        char back;
        if (xwrite(ping[1], c) < 0 || xread(pong[0], &back) != 1) {
            fprintf(stderr, "ping-pong failed after %ld rounds: %s\n", done, strerror(errno));
            return 1;
        }
        if (back != (char)(c + 1)) {
            fprintf(stderr, "wrong byte back\n");
            return 1;
        }
        c++;
        done++;
        if ((done & 255) == 0) {
            elapsed = now() - start;
            if (elapsed >= seconds) break;
        }
    }
    elapsed = now() - start;
    close(ping[1]);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "echo child failed\n");
        return 1;
    }
    printf("ctxsw: %ld round trips (%ld switches) in %.3f s\n", done, 2 * done, elapsed);
    printf("rate=%.0f\n", 2 * done / elapsed);
    return 0;
}
