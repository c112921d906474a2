/*
 * A hostile guest. Without arguments it passes bad pointers (NULL, 0x1, a kernel-half address, an address above
 * the Sv39 user range, an unmapped page, a read-only page as an output buffer) and bad sizes/flags to the system
 * calls it uses, straight through syscall(), and prints each result and errno. Linux answers -EFAULT/-EINVAL/…
 * and the program carries on. With an argument it does one fatal thing and must be killed by the signal Linux
 * sends for it (the harness compares the exit status, 128+N, with qemu's).
 * Only cases where Linux's and qemu-user's answers agree are here. Left out because qemu 7.2 differs from Linux:
 * partial reads into half-mapped buffers (Linux returns the bytes done, qemu -EFAULT), read(bad fd, NULL, n)
 * (Linux EBADF, qemu EFAULT), nanosleep(bad pointer) (Linux EFAULT, qemu EINVAL), getrandom(NULL, 0, 0)
 * (Linux 0, qemu EFAULT).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PG 4096
#define KERNEL_HALF ((void *)0xffffffff80000000ul)
#define ABOVE_SV39 ((void *)0x0000004000000000ul)
#define ALL_ONES ((void *)~0ul)

static char *ro_page;       /* PROT_READ, holds known bytes */
static char *unmapped_page; /* was mapped, then unmapped */
static char *edge;          /* last bytes of a mapped page followed by an unmapped one */

static void report(const char *what, long r) {
    if (r == -1) {
        const char *name = strerrorname_np(errno);
        printf("%-58s = -1 %s\n", what, name ? name : "?");
    } else {
        printf("%-58s = %ld\n", what, r);
    }
    fflush(stdout);
}

struct bad {
    const char *name;
    void *p;
};

static void bad_pointers(void) {
    long r;
    char line[128];
    struct bad bads[] = {{"NULL", NULL},        {"0x1", (void *)1},          {"kernel", KERNEL_HALF},
                         {"above-sv39", ABOVE_SV39}, {"all-ones", ALL_ONES}, {"unmapped", unmapped_page}};
    const int nb = sizeof(bads) / sizeof(bads[0]);
    int zero = open("/dev/zero", O_RDONLY);
    char buf[256];

#define EACH_BAD(fmt, call)                                                                                         \
    for (int i = 0; i < nb; i++) {                                                                                 \
        void *B = bads[i].p;                                                                                       \
        errno = 0;                                                                                                 \
        r = (call);                                                                                                \
        snprintf(line, sizeof line, fmt, bads[i].name);                                                            \
        report(line, r);                                                                                           \
    }

    /* read / write */
    EACH_BAD("read(/dev/zero, %s, 16)", syscall(SYS_read, zero, B, 16));
    report("read(/dev/zero, ro_page, 16)", syscall(SYS_read, zero, ro_page, 16));
    report("read(/dev/zero, NULL, 0)", syscall(SYS_read, zero, NULL, 0));
    report("read(-1, buf, 16)", syscall(SYS_read, -1, buf, 16));
    EACH_BAD("write(1, %s, 16)", syscall(SYS_write, 1, B, 16));
    report("write(1, NULL, 0)", syscall(SYS_write, 1, NULL, 0));
    report("write(1, ro_page, 8) [prints RO-PAGE]", syscall(SYS_write, 1, ro_page, 8));
    report("write(-5, buf, 1)", syscall(SYS_write, -5, buf, 1));

    /* openat: bad path pointers, a path running into an unmapped page, bad flags */
    EACH_BAD("openat(AT_FDCWD, %s, O_RDONLY)", syscall(SYS_openat, AT_FDCWD, B, O_RDONLY));
    report("openat(AT_FDCWD, unterminated at page end)", syscall(SYS_openat, AT_FDCWD, edge, O_RDONLY));
    report("openat(AT_FDCWD, \"\", O_RDONLY)", syscall(SYS_openat, AT_FDCWD, "", O_RDONLY));
    report("openat(AT_FDCWD, \"/no/such/file\", O_RDONLY)", syscall(SYS_openat, AT_FDCWD, "/no/such/file", O_RDONLY));
    report("openat(12345, \"relative\", O_RDONLY)", syscall(SYS_openat, 12345, "relative", O_RDONLY));

    /* newfstatat / fstat */
    EACH_BAD("newfstatat(AT_FDCWD, \"/\", %s, 0)", syscall(SYS_newfstatat, AT_FDCWD, "/", B, 0));
    EACH_BAD("newfstatat(AT_FDCWD, %s, buf, 0)", syscall(SYS_newfstatat, AT_FDCWD, B, buf, 0));
    report("newfstatat(AT_FDCWD, \"/\", ro_page, 0)", syscall(SYS_newfstatat, AT_FDCWD, "/", ro_page, 0));
    report("newfstatat(AT_FDCWD, \"/\", buf, 0x12345)", syscall(SYS_newfstatat, AT_FDCWD, "/", buf, 0x12345));
    EACH_BAD("fstat(/dev/zero, %s)", syscall(SYS_fstat, zero, B));
    report("fstat(-1, buf)", syscall(SYS_fstat, -1, buf));

    /* clock_gettime, gettimeofday, nanosleep */
    EACH_BAD("clock_gettime(CLOCK_MONOTONIC, %s)", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, B));
    report("clock_gettime(CLOCK_REALTIME, ro_page)", syscall(SYS_clock_gettime, CLOCK_REALTIME, ro_page));
    report("clock_gettime(1000, buf)", syscall(SYS_clock_gettime, 1000, buf));
    EACH_BAD("gettimeofday(%s, NULL)", syscall(SYS_gettimeofday, B, NULL));
    struct timespec badts = {0, 2000000000};
    report("nanosleep({0, 2e9}, NULL)", syscall(SYS_nanosleep, &badts, NULL));
    struct timespec negts = {-1, 0};
    report("nanosleep({-1, 0}, NULL)", syscall(SYS_nanosleep, &negts, NULL));

    /* uname, getrandom, getcwd */
    EACH_BAD("uname(%s)", syscall(SYS_uname, B));
    report("uname(ro_page)", syscall(SYS_uname, ro_page));
    EACH_BAD("getrandom(%s, 16, 0)", syscall(SYS_getrandom, B, 16, 0));
    report("getrandom(ro_page, 16, 0)", syscall(SYS_getrandom, ro_page, 16, 0));
    report("getrandom(buf, 16, 0xff00)", syscall(SYS_getrandom, buf, 16, 0xff00));
    EACH_BAD("getcwd(%s, 256)", syscall(SYS_getcwd, B, 256));
    report("getcwd(ro_page, 256)", syscall(SYS_getcwd, ro_page, 256));
    report("getcwd(buf, 1)", syscall(SYS_getcwd, buf, 1));

    /* readv / writev: bad iovec arrays, bad buffers inside good arrays, bad counts */
    struct iovec iov[2];
    EACH_BAD("readv(/dev/zero, %s, 1)", syscall(SYS_readv, zero, B, 1));
    EACH_BAD("writev(1, %s, 1)", syscall(SYS_writev, 1, B, 1));
    for (int i = 0; i < nb; i++) {
        iov[0].iov_base = bads[i].p;
        iov[0].iov_len = 8;
        snprintf(line, sizeof line, "readv(/dev/zero, [{%s, 8}], 1)", bads[i].name);
        report(line, syscall(SYS_readv, zero, iov, 1));
        snprintf(line, sizeof line, "writev(1, [{%s, 8}], 1)", bads[i].name);
        report(line, syscall(SYS_writev, 1, iov, 1));
    }
    iov[0].iov_base = ro_page;
    iov[0].iov_len = 8;
    report("readv(/dev/zero, [{ro_page, 8}], 1)", syscall(SYS_readv, zero, iov, 1));
    report("writev(1, [{ro_page, 8}], 1) [prints RO-PAGE]", syscall(SYS_writev, 1, iov, 1));
    report("readv(/dev/zero, iov, -1)", syscall(SYS_readv, zero, iov, -1));
    report("writev(1, iov, 1025)", syscall(SYS_writev, 1, iov, 1025));
    iov[0].iov_base = buf;
    iov[0].iov_len = (size_t)-1;
    report("readv(/dev/zero, [{buf, SIZE_MAX}], 1)", syscall(SYS_readv, zero, iov, 1));
    report("readv(/dev/zero, NULL, 0)", syscall(SYS_readv, zero, NULL, 0));

    /* rt_sigaction / rt_sigprocmask */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    EACH_BAD("rt_sigaction(SIGUSR1, %s, NULL, 8)", syscall(SYS_rt_sigaction, SIGUSR1, B, NULL, 8));
    EACH_BAD("rt_sigaction(SIGUSR1, NULL, %s, 8)", syscall(SYS_rt_sigaction, SIGUSR1, NULL, B, 8));
    report("rt_sigaction(SIGUSR1, NULL, ro_page, 8)", syscall(SYS_rt_sigaction, SIGUSR1, NULL, ro_page, 8));
    report("rt_sigaction(SIGUSR1, NULL, NULL, 4)", syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 4));
    report("rt_sigaction(SIGKILL, &sa, NULL, 8)", syscall(SYS_rt_sigaction, SIGKILL, buf, NULL, 8));
    report("rt_sigaction(0, NULL, NULL, 8)", syscall(SYS_rt_sigaction, 0, NULL, NULL, 8));
    report("rt_sigaction(65, NULL, NULL, 8)", syscall(SYS_rt_sigaction, 65, NULL, NULL, 8));
    EACH_BAD("rt_sigprocmask(SIG_BLOCK, %s, NULL, 8)", syscall(SYS_rt_sigprocmask, SIG_BLOCK, B, NULL, 8));
    EACH_BAD("rt_sigprocmask(SIG_BLOCK, NULL, %s, 8)", syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, B, 8));
    memset(buf, 0, sizeof buf);
    report("rt_sigprocmask(99, set, NULL, 8)", syscall(SYS_rt_sigprocmask, 99, buf, NULL, 8));
    report("rt_sigprocmask(SIG_BLOCK, set, NULL, 16)", syscall(SYS_rt_sigprocmask, SIG_BLOCK, buf, NULL, 16));

    /* prlimit64 */
    EACH_BAD("prlimit64(0, RLIMIT_STACK, NULL, %s)", syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, B));
    EACH_BAD("prlimit64(0, RLIMIT_NOFILE, %s, NULL)", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, B, NULL));
    report("prlimit64(0, RLIMIT_STACK, NULL, ro_page)", syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, ro_page));
    report("prlimit64(0, 999, NULL, buf)", syscall(SYS_prlimit64, 0, 999, NULL, buf));
    struct rlimit inverted = {100, 10};
    report("prlimit64(0, RLIMIT_NOFILE, {cur 100 > max 10}, NULL)",
           syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &inverted, NULL));

    /* readlinkat, lseek, close, ioctl, mmap/munmap/mprotect with bad arguments */
    EACH_BAD("readlinkat(AT_FDCWD, \"/proc/self/exe\", %s, 64)", syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", B, 64));
    EACH_BAD("readlinkat(AT_FDCWD, %s, buf, 64)", syscall(SYS_readlinkat, AT_FDCWD, B, buf, 64));
    report("readlinkat(AT_FDCWD, \"/proc/self/exe\", ro_page, 64)",
           syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", ro_page, 64));
    report("lseek(/dev/zero, 0, 99)", syscall(SYS_lseek, zero, 0, 99));
    report("lseek(-1, 0, SEEK_SET)", syscall(SYS_lseek, -1, 0, SEEK_SET));
    report("close(-1)", syscall(SYS_close, -1));
    report("close(9999)", syscall(SYS_close, 9999));
    report("ioctl(/dev/zero, TCGETS, NULL)", syscall(SYS_ioctl, zero, 0x5401, NULL));
    report("munmap(unaligned, 4096)", syscall(SYS_munmap, (char *)ro_page + 1, PG));
    report("munmap(addr, 0)", syscall(SYS_munmap, ro_page, 0));
    report("mprotect(unaligned, 4096, PROT_READ)", syscall(SYS_mprotect, (char *)ro_page + 1, PG, PROT_READ));
    report("mprotect(unmapped, 4096, PROT_READ)", syscall(SYS_mprotect, unmapped_page, PG, PROT_READ));
    report("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, -1 (no ANON), 0)",
           syscall(SYS_mmap, NULL, PG, PROT_READ, MAP_PRIVATE, -1, 0));
    report("mmap(NULL, 4096, PROT_READ, 0 (no type), -1, 0)", syscall(SYS_mmap, NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0));
    report("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANON, -1, 1)",
           syscall(SYS_mmap, NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1));
    report("brk(kernel half) leaves brk alone", syscall(SYS_brk, KERNEL_HALF) == syscall(SYS_brk, 0));

    /* The read-only page was never written. */
    printf("ro_page still reads: %.7s\n", ro_page);
    close(zero);
}

/* ---- fatal behaviours ---- */

#ifdef __riscv
static void die_jump(void) {
    void (*f)(void) = (void (*)(void))unmapped_page;
    f();
}
static void die_jump_kernel(void) {
    void (*f)(void) = (void (*)(void))KERNEL_HALF;
    f();
}
static void die_illegal(void) { __asm__ volatile(".4byte 0x00000000"); }  /* all-zero: defined illegal */
static void die_illegal32(void) { __asm__ volatile(".4byte 0xffffffff"); } /* reserved encoding */
static void die_csr(void) { __asm__ volatile("csrr t0, mstatus" ::: "t0"); } /* M-mode CSR from U-mode */
static void die_rowrite(void) { *(volatile char *)ro_page = 1; }
static void die_null(void) { printf("%d\n", *(volatile int *)0); }
static void die_nullwrite(void) { *(volatile int *)0 = 1; }
static void die_ebreak(void) { __asm__ volatile("ebreak"); }
static void die_misaligned_atomic(void) {
    static long words[4];
    int *p = (int *)((char *)words + 1);
    int old;
    __asm__ volatile("amoadd.w %0, %2, (%1)" : "=r"(old) : "r"(p), "r"(1) : "memory");
    printf("%d\n", old);
}
static void die_misaligned_lr(void) {
    static long words[4];
    long *p = (long *)((char *)words + 4);
    long v;
    __asm__ volatile("lr.d %0, (%1)" : "=r"(v) : "r"(p) : "memory");
    printf("%ld\n", v);
}
static void die_exec_data(void) {
    /* A non-executable page holding valid code (ret): fetching from it faults. */
    char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    const uint32_t ret = 0x00008067; /* jalr x0, 0(ra) */
    memcpy(p, &ret, 4);
    ((void (*)(void))p)();
}
static void die_write_code(void) { *(volatile uint32_t *)(void *)die_write_code = 0x00000013; }
static int __attribute__((noinline)) deep(int n) {
    volatile char pad[1024];
    pad[0] = (char)n;
    if (n < 0) return 0; /* never: keeps gcc from calling this infinite recursion */
    return deep(n + 1) + pad[0];
}
static void die_stack(void) { printf("%d\n", deep(0)); }

static const struct {
    const char *name;
    void (*fn)(void);
} fatal[] = {
    {"jump-unmapped", die_jump},        {"jump-kernel", die_jump_kernel}, {"illegal", die_illegal},
    {"illegal32", die_illegal32},       {"csr", die_csr},                 {"write-ro", die_rowrite},
    {"read-null", die_null},            {"write-null", die_nullwrite},    {"ebreak", die_ebreak},
    {"misaligned-amo", die_misaligned_atomic}, {"misaligned-lr", die_misaligned_lr},
    {"exec-data", die_exec_data},       {"write-code", die_write_code},   {"stack-overflow", die_stack},
};
#else /* built natively only to compare the bad-pointer answers with the host's Linux */
static const struct {
    const char *name;
    void (*fn)(void);
} fatal[] = {{"none", NULL}};
#endif

int main(int argc, char **argv) {
    ro_page = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(ro_page, "RO-PAGE\n", 8);
    mprotect(ro_page, PG, PROT_READ);
    char *two = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(two, 'a', 2 * PG);
    munmap(two + PG, PG);
    edge = two + PG - 8;
    unmapped_page = two + PG;
    if (ro_page == MAP_FAILED || two == MAP_FAILED) return 2;

    if (argc < 2) {
        bad_pointers();
        printf("survived\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
        if (strcmp(argv[1], fatal[i].name) == 0) {
            printf("about to: %s\n", fatal[i].name);
            fflush(stdout);
            fatal[i].fn();
            printf("still alive after %s\n", fatal[i].name);
            return 1;
        }
    }
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
}
