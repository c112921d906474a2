/* The smallest guest test: one line on stdout, exit status 0. Also built dynamically (hello-dynamic). */
#include <stdio.h>

int main(void) {
    printf("Hello from riscv64!\n");
    return 0;
}
