/*
 * argv, envp and the auxiliary vector as the kernel lays them out on the initial stack (Linux
 * create_elf_tables()). Prints only deterministic facts: argument and environment strings, auxv entries that
 * are present and their values where those are fixed, and checks (yes/no) where a value is an address.
 */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;
extern char _start[];

/* The auxv types riscv64 Linux gives every process (fs/binfmt_elf.c create_elf_tables, arch/riscv ELF_HWCAP). */
static const struct {
    unsigned long type;
    const char *name;
} wanted[] = {
    {AT_PHDR, "AT_PHDR"},     {AT_PHENT, "AT_PHENT"},   {AT_PHNUM, "AT_PHNUM"},   {AT_PAGESZ, "AT_PAGESZ"},
    {AT_BASE, "AT_BASE"},     {AT_FLAGS, "AT_FLAGS"},   {AT_ENTRY, "AT_ENTRY"},   {AT_UID, "AT_UID"},
    {AT_EUID, "AT_EUID"},     {AT_GID, "AT_GID"},       {AT_EGID, "AT_EGID"},     {AT_SECURE, "AT_SECURE"},
    {AT_RANDOM, "AT_RANDOM"}, {AT_HWCAP, "AT_HWCAP"},   {AT_CLKTCK, "AT_CLKTCK"}, {AT_EXECFN, "AT_EXECFN"},
};
#define NWANTED (sizeof(wanted) / sizeof(wanted[0]))

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv, char **envp) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("argv[%d]=\"%s\"\n", i, argv[i]);
    printf("argv[argc] is NULL: %s\n", argv[argc] == NULL ? "yes" : "no");
    printf("envp follows argv: %s\n", envp == argv + argc + 1 ? "yes" : "no");

    /* Printed sorted: Linux keeps the order execve was given, qemu-user reverses it; neither is the point here. */
    int envc = 0;
    while (envp[envc]) envc++;
    printf("envc=%d\n", envc);
    char **sorted = malloc((envc + 1) * sizeof(char *));
    memcpy(sorted, envp, (envc + 1) * sizeof(char *));
    qsort(sorted, envc, sizeof(char *), cmpstr);
    for (int i = 0; i < envc; i++) printf("env: \"%s\"\n", sorted[i]);
    free(sorted);
    printf("environ is envp: %s\n", environ == envp ? "yes" : "no");
    static const char *vars[] = {"PATH", "HOME", "LANG", "LABVISOR_TEST_A", "LABVISOR_TEST_B", "UNSET_VARIABLE"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        printf("getenv(%s)=%s%s%s\n", vars[i], v ? "\"" : "", v ? v : "(null)", v ? "\"" : "");
    }

    /* The auxiliary vector starts after envp's NULL terminator. */
    Elf64_auxv_t *auxv = (Elf64_auxv_t *)(envp + envc + 1);
    unsigned long val[NWANTED];
    int seen[NWANTED];
    memset(seen, 0, sizeof(seen));
    int n = 0;
    for (Elf64_auxv_t *a = auxv; a->a_type != AT_NULL; a++, n++) {
        for (size_t i = 0; i < NWANTED; i++) {
            if (wanted[i].type == a->a_type) {
                seen[i]++;
                val[i] = a->a_un.a_val;
            }
        }
        if (n > 200) {
            printf("auxv is not terminated by AT_NULL\n");
            return 1;
        }
    }
    for (size_t i = 0; i < NWANTED; i++) {
        const char *name = wanted[i].name;
        if (!seen[i]) {
            printf("%s: missing\n", name);
            continue;
        }
        if (seen[i] > 1) printf("%s: present %d times\n", name, seen[i]);
        unsigned long v = val[i];
        if (getauxval(wanted[i].type) != v) printf("%s: getauxval disagrees\n", name);
        switch (wanted[i].type) {
        case AT_PAGESZ:
        case AT_PHENT:
        case AT_PHNUM:
        case AT_CLKTCK:
        case AT_SECURE:
        case AT_FLAGS:
        case AT_BASE: /* 0 for a static executable (no interpreter) */
            printf("%s=%lu\n", name, v);
            break;
        case AT_HWCAP:
            printf("%s=%#lx\n", name, v);
            for (int b = 0; b < 26; b++)
                if (v & (1ul << b)) printf("  hwcap has %c\n", 'a' + b);
            break;
        case AT_UID:
            printf("%s matches getuid(): %s\n", name, v == (unsigned long)getuid() ? "yes" : "no");
            break;
        case AT_EUID:
            printf("%s matches geteuid(): %s\n", name, v == (unsigned long)geteuid() ? "yes" : "no");
            break;
        case AT_GID:
            printf("%s matches getgid(): %s\n", name, v == (unsigned long)getgid() ? "yes" : "no");
            break;
        case AT_EGID:
            printf("%s matches getegid(): %s\n", name, v == (unsigned long)getegid() ? "yes" : "no");
            break;
        case AT_ENTRY:
            printf("%s is _start: %s\n", name, v == (unsigned long)_start ? "yes" : "no");
            break;
        case AT_PHDR: {
            /* A static executable's program headers are in its first PT_LOAD; print their types. */
            const Elf64_Phdr *ph = (const Elf64_Phdr *)v;
            printf("%s types:", name);
            for (unsigned long k = 0; k < getauxval(AT_PHNUM); k++) printf(" %#x", ph[k].p_type);
            printf("\n");
            break;
        }
        case AT_RANDOM: {
            /* 16 bytes of randomness; reading them must not fault, and they should not all be zero. */
            const volatile unsigned char *r = (const unsigned char *)v;
            unsigned or = 0;
            for (int k = 0; k < 16; k++) or |= r[k];
            printf("%s: 16 bytes readable, nonzero: %s\n", name, or ? "yes" : "no");
            break;
        }
        case AT_EXECFN:
            printf("%s=\"%s\" (same as argv[0]: %s)\n", name, (const char *)v,
                   strcmp((const char *)v, argv[0]) == 0 ? "yes" : "no");
            break;
        }
    }

    /* The initial stack pointer must be 16-byte aligned (RISC-V psABI); argv sits right above argc. */
    printf("argc slot holds argc: %s\n", ((long *)argv)[-1] == argc ? "yes" : "no");
    printf("argv 8-byte aligned: %s\n", ((uintptr_t)argv & 7) == 0 ? "yes" : "no");
    printf("sp 16-byte aligned at entry: %s\n", (((uintptr_t)argv - 8) & 15) == 0 ? "yes" : "no");
    return 0;
}
