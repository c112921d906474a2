/*
 * CPU benchmark workload for `npm run bench:cpu`: integer arithmetic, memory traffic, branches and calls in a mix
 * — a sieve of Eratosthenes, an open-addressing hash table, quicksort, recursive Fibonacci and a small matrix
 * multiply. Deterministic; prints one checksum per part and a total, so both runs can be compared.
 * Usage: bench_compute [scale]   (default 15, about 1.2 s under qemu-riscv64-static here; work grows linearly)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 12345;
static uint32_t xorshift(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static uint64_t sieve(int n) {
    unsigned char *composite = calloc(n + 1, 1);
    uint64_t count = 0, sum = 0;
    for (int i = 2; i <= n; i++) {
        if (composite[i]) continue;
        count++;
        sum += i;
        for (long j = (long)i * i; j <= n; j += i) composite[j] = 1;
    }
    free(composite);
    return count * 1000003 + sum;
}

#define HBITS 16
#define HSIZE (1u << HBITS)
static uint64_t hash_table(int ops) {
    uint32_t *keys = calloc(HSIZE, sizeof(uint32_t));
    uint32_t *vals = calloc(HSIZE, sizeof(uint32_t));
    uint64_t acc = 0;
    int used = 0;
    for (int i = 0; i < ops; i++) {
        uint32_t k = (xorshift() % 50000) + 1;
        uint32_t h = (k * 2654435761u) >> (32 - HBITS);
        while (keys[h] != 0 && keys[h] != k) h = (h + 1) & (HSIZE - 1);
        if (keys[h] == k) {
            vals[h] += i;
            acc += vals[h];
        } else if (used < (int)(HSIZE * 3 / 4)) {
            keys[h] = k;
            vals[h] = i;
            used++;
        }
    }
    free(keys);
    free(vals);
    return acc + used;
}

static void quicksort(int32_t *a, long lo, long hi) {
    while (lo < hi) {
        int32_t p = a[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i <= j) {
                int32_t t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (j - lo < hi - i) {
            quicksort(a, lo, j);
            lo = i;
        } else {
            quicksort(a, i, hi);
            hi = j;
        }
    }
}

static uint64_t sort_work(int n) {
    int32_t *a = malloc(n * sizeof(int32_t));
    for (int i = 0; i < n; i++) a[i] = (int32_t)xorshift();
    quicksort(a, 0, n - 1);
    uint64_t acc = 0;
    for (int i = 1; i < n; i++) {
        if (a[i - 1] > a[i]) return 0; /* not sorted: checksum 0 makes it visible */
        acc = acc * 31 + (uint32_t)a[i];
    }
    free(a);
    return acc;
}

static uint64_t __attribute__((noinline)) fib(int n) { return n < 2 ? (uint64_t)n : fib(n - 1) + fib(n - 2); }

static uint64_t matmul(int n) {
    int32_t *a = malloc(n * n * 4), *b = malloc(n * n * 4), *c = calloc(n * n, 4);
    for (int i = 0; i < n * n; i++) {
        a[i] = (int32_t)(xorshift() & 0xff);
        b[i] = (int32_t)(xorshift() & 0xff);
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            int32_t aik = a[i * n + k];
            for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
        }
    uint64_t acc = 0;
    for (int i = 0; i < n * n; i++) acc = acc * 1099511628211ull + (uint32_t)c[i];
    free(a);
    free(b);
    free(c);
    return acc;
}

int main(int argc, char **argv) {
    int scale = argc > 1 ? atoi(argv[1]) : 15;
    if (scale < 1) scale = 1;
    uint64_t total = 0, r;
    for (int s = 0; s < scale; s++) {
        r = sieve(2000000);
        printf("sieve      %016llx\n", (unsigned long long)r);
        total ^= r;
        r = hash_table(1500000);
        printf("hash       %016llx\n", (unsigned long long)r);
        total = total * 3 + r;
        r = sort_work(400000);
        printf("quicksort  %016llx\n", (unsigned long long)r);
        total = total * 3 + r;
        r = fib(27);
        printf("fib(27)    %016llx\n", (unsigned long long)r);
        total = total * 3 + r;
        r = matmul(120);
        printf("matmul     %016llx\n", (unsigned long long)r);
        total = total * 3 + r;
    }
    printf("total      %016llx\n", (unsigned long long)total);
    return 0;
}
