/*
 * Process-creation benchmark for `npm run bench:proc`: fork → execve(BUSYBOX, ["true"]) → waitpid, in a loop, for
 * ITERATIONS round trips or SECONDS of wall-clock time, whichever ends first; prints the rate.
 * Usage: bench_fork_exec BUSYBOX [ITERATIONS=100000] [SECONDS=3]
 * BUSYBOX is the path the guest sees the busybox binary at (under labvisor: its absolute host path).
 * Last line: `rate=<fork+exec+wait per second>`, which bench/proc.ts parses. Exits 1 on any failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s BUSYBOX [ITERATIONS] [SECONDS]\n", argv[0]);
        return 2;
    }
    const char *busybox = argv[1];
    long iterations = argc > 2 ? atol(argv[2]) : 100000;
    double seconds = argc > 3 ? atof(argv[3]) : 3.0;
    char *child_argv[] = {"true", NULL};

    double start = now(), elapsed = 0;
    long done = 0;
    while (done < iterations) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "fork: %s\n", strerror(errno));
            return 1;
        }
        if (pid == 0) {
            execve(busybox, child_argv, environ);
            fprintf(stderr, "execve %s: %s\n", busybox, strerror(errno));
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid) {
            fprintf(stderr, "waitpid: %s\n", strerror(errno));
            return 1;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "child status 0x%x\n", status);
            return 1;
        }
        done++;
        elapsed = now() - start;
        if (elapsed >= seconds) break;
    }
    printf("fork+exec+wait of busybox true: %ld in %.3f s\n", done, elapsed);
    printf("rate=%.1f\n", done / elapsed);
    return 0;
}
