/*
 * Heap work the way real programs do it: glibc malloc on brk (small blocks) and mmap (blocks above the 128 KiB
 * mmap threshold), realloc growth that moves and keeps contents, calloc zeroing, plus sbrk and direct
 * mmap/munmap/mprotect/mremap. Every block carries a pattern that is verified before it is freed; the output is
 * counts and checksums only (never addresses), so it is the same on every kernel that gets memory right.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) { /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}

static uint64_t fnv = 1469598103934665603ull;
static void mix(uint64_t v) {
    for (int i = 0; i < 8; i++) {
        fnv ^= (v >> (8 * i)) & 0xff;
        fnv *= 1099511628211ull;
    }
}

#define SLOTS 256
static unsigned char *blk[SLOTS];
static size_t len[SLOTS];
static unsigned char tag[SLOTS];
static int errors;

static size_t pick_size(void) {
    uint64_t r = next();
    switch (r % 16) {
    case 0: return 0;                          /* malloc(0) is a valid unique pointer */
    case 1: return 128 * 1024 + (r >> 8) % (256 * 1024); /* above the mmap threshold */
    case 2:
    case 3: return 4096 + (r >> 8) % 32768;
    default: return 1 + (r >> 8) % 512;
    }
}

static void fill(int i) {
    for (size_t k = 0; k < len[i]; k++) blk[i][k] = (unsigned char)(tag[i] + k * 7);
}

static void check(int i, size_t upto) {
    for (size_t k = 0; k < upto; k++) {
        if (blk[i][k] != (unsigned char)(tag[i] + k * 7)) {
            if (errors++ < 5) printf("corruption in slot %d at byte %zu of %zu\n", i, k, upto);
            return;
        }
    }
}

static void heap_churn(void) {
    unsigned long mallocs = 0, frees = 0, reallocs = 0, callocs = 0, big = 0;
    for (int iter = 0; iter < 12000; iter++) {
        int i = (int)(next() % SLOTS);
        unsigned op = (unsigned)(next() % 8);
        if (blk[i] && op < 3) {
            check(i, len[i]);
            mix(len[i]);
            free(blk[i]);
            blk[i] = NULL;
            frees++;
        } else if (blk[i] && op < 5) {
            /* realloc growth (mostly) keeps the old contents */
            size_t n = len[i] + 1 + next() % (len[i] > 100000 ? 100000 : 3 * len[i] + 64);
            if (n > 600 * 1024) n = len[i] > 512 ? len[i] / 2 : len[i] + 1; /* shrink sometimes, too */
            unsigned char *p = realloc(blk[i], n);
            if (!p) { printf("realloc(%zu) failed\n", n); exit(2); }
            blk[i] = p;
            check(i, n < len[i] ? n : len[i]);
            len[i] = n;
            fill(i);
            reallocs++;
        } else if (!blk[i]) {
            size_t n = pick_size();
            if (n >= 128 * 1024) big++;
            if (op == 7) {
                blk[i] = calloc(1, n);
                callocs++;
                for (size_t k = 0; k < n; k++)
                    if (blk[i][k]) { if (errors++ < 5) printf("calloc(%zu) not zeroed at %zu\n", n, k); break; }
            } else {
                blk[i] = malloc(n);
            }
            if (!blk[i]) { printf("malloc(%zu) failed\n", n); exit(2); }
            len[i] = n;
            tag[i] = (unsigned char)next();
            fill(i);
            mallocs++;
        }
    }
    for (int i = 0; i < SLOTS; i++)
        if (blk[i]) { check(i, len[i]); mix(len[i]); free(blk[i]); blk[i] = NULL; frees++; }
    printf("heap: mallocs=%lu callocs=%lu reallocs=%lu frees=%lu big=%lu checksum=%016llx errors=%d\n", mallocs,
           callocs, reallocs, frees, big, (unsigned long long)fnv, errors);
}

static void brk_work(void) {
    /* sbrk grows and shrinks the data segment (Linux brk()); fresh brk memory reads as zero. */
    char *base = sbrk(0);
    char *p = sbrk(3 * 4096 + 100);
    int ok = p == base && (char *)sbrk(0) == base + 3 * 4096 + 100;
    int zero = 1;
    for (int k = 0; k < 3 * 4096 + 100; k++) zero &= p[k] == 0;
    memset(p, 0x5a, 3 * 4096 + 100);
    ok &= sbrk(-(3 * 4096 + 100)) == base + 3 * 4096 + 100 && sbrk(0) == base;
    /* Grow again: the pages given back and taken again must be zero once more (full pages were unmapped). */
    p = sbrk(2 * 4096);
    int zero2 = 1;
    size_t skip = (4096 - ((uintptr_t)p & 4095)) & 4095; /* a partial first page may keep old bytes */
    for (size_t k = skip; k < 4096 + skip && k < 2 * 4096; k++) zero2 &= p[k] == 0;
    sbrk(-(2 * 4096));
    printf("brk: grow/shrink consistent=%s fresh zero=%s regrown zero=%s\n", ok ? "yes" : "no", zero ? "yes" : "no",
           zero2 ? "yes" : "no");
}

static void mmap_work(void) {
    const size_t pg = 4096, n = 64 * pg;
    unsigned char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) { printf("mmap failed\n"); exit(2); }
    int zero = 1;
    for (size_t k = 0; k < n; k++) zero &= m[k] == 0;
    for (size_t k = 0; k < n; k++) m[k] = (unsigned char)(k * 13 + (k >> 12));
    uint64_t sum = 0;
    /* Make the middle read-only, then punch a hole in it; the rest keeps its data. */
    int r1 = mprotect(m + 8 * pg, 8 * pg, PROT_READ);
    for (size_t k = 8 * pg; k < 16 * pg; k++) sum += m[k];
    int r2 = munmap(m + 10 * pg, 2 * pg);
    /* MAP_FIXED over part of the mapping replaces it with fresh zero pages. */
    unsigned char *f = mmap(m + 20 * pg, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    int fixed_ok = f == m + 20 * pg;
    int fixed_zero = 1;
    for (size_t k = 0; k < 4 * pg; k++) fixed_zero &= f[k] == 0;
    int kept = 1;
    for (size_t k = 0; k < 8 * pg; k++) kept &= m[k] == (unsigned char)(k * 13 + (k >> 12));
    for (size_t k = 24 * pg; k < n; k++) kept &= m[k] == (unsigned char)(k * 13 + (k >> 12));
    /* mremap grows the tail mapping (may move); contents follow it. */
    unsigned char *tail = m + 32 * pg;
    unsigned char *g = mremap(tail, 32 * pg, 96 * pg, MREMAP_MAYMOVE);
    int moved_ok = g != MAP_FAILED;
    if (moved_ok) {
        for (size_t k = 0; k < 32 * pg; k++) moved_ok &= g[k] == (unsigned char)((k + 32 * pg) * 13 + ((k + 32 * pg) >> 12));
        for (size_t k = 32 * pg; k < 96 * pg; k++) moved_ok &= g[k] == 0;
        g[96 * pg - 1] = 1;
    }
    int r3 = munmap(m, 32 * pg);
    int r4 = moved_ok ? munmap(g, 96 * pg) : -1;
    /* Errors: unaligned address, zero length. */
    int e1 = munmap(m + 1, pg) == -1;
    int e2 = mprotect(m + 1, pg, PROT_READ) == -1;
    void *e3 = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap: zero=%s mprotect=%d sum=%llu munmap=%d fixed=%s fixed_zero=%s kept=%s mremap=%s unmap=%d/%d "
           "EINVAL=%s/%s/%s\n",
           zero ? "yes" : "no", r1, (unsigned long long)sum, r2, fixed_ok ? "yes" : "no", fixed_zero ? "yes" : "no",
           kept ? "yes" : "no", moved_ok ? "yes" : "no", r3, r4, e1 ? "yes" : "no", e2 ? "yes" : "no",
           e3 == MAP_FAILED ? "yes" : "no");
}

int main(void) {
    brk_work();
    heap_churn();
    mmap_work();
    /* Many large blocks alive at once: 32 x 1 MiB. */
    unsigned char *bigs[32];
    uint64_t s = 0;
    for (int i = 0; i < 32; i++) {
        bigs[i] = malloc(1 << 20);
        if (!bigs[i]) { printf("malloc 1 MiB failed\n"); return 2; }
        memset(bigs[i], i + 1, 1 << 20);
    }
    for (int i = 31; i >= 0; i--) {
        for (int k = 0; k < (1 << 20); k += 4093) s += bigs[i][k];
        free(bigs[i]);
    }
    printf("32 MiB live: sum=%llu\n", (unsigned long long)s);
    return errors ? 1 : 0;
}
