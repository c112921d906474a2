/*
 * glibc printf/strtod of doubles: exercises the D extension (conversions, classification), the integer
 * multiprecision code inside printf, and long double (quad, done in software by libgcc) on the way.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double from_bits(uint64_t b) {
    double d;
    memcpy(&d, &b, 8);
    return d;
}

int main(void) {
    volatile double zero = 0.0;
    const double values[] = {
        0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 2.5, -2.5, 1.0 / 3.0, 2.0 / 3.0, M_PI, M_E, 100.0, 123456789.125,
        1e15, 1e16, 1e17, 9007199254740993.0, 1e21, 1e22, 1e23, 1e-5, 1e-7, 1.5e-10, 123.456e-300, 6.02214076e23,
        DBL_MAX, -DBL_MAX, DBL_MIN, DBL_EPSILON, 4.9406564584124654e-324 /* smallest denormal */,
        2.2250738585072009e-308 /* largest denormal */, from_bits(0x000fffffffffffffull), from_bits(0x0000000000000001ull),
        from_bits(0x8000000000000001ull), from_bits(0x3fefffffffffffffull), from_bits(0x4340000000000000ull),
        1.0 / zero, -1.0 / zero, zero / zero, -(zero / zero), 0.999999999, 9.9999995, 0.000123456789, 5e-324 * 3,
    };
    const int n = sizeof(values) / sizeof(values[0]);
    for (int i = 0; i < n; i++) {
        double v = values[i];
        printf("[%d] %%f=%f %%e=%e %%g=%g %%a=%a\n", i, v, v, v, v);
        printf("    %%.0f=%.0f %%.3e=%.3e %%.17g=%.17g %%.10g=%.10g %%+012.4f=%+012.4f %%-12.3g|=%-12.3g|\n", v, v, v, v,
               v, v);
        printf("    class=%s signbit=%d isinf=%d isnan=%d\n",
               fpclassify(v) == FP_NAN         ? "nan"
               : fpclassify(v) == FP_INFINITE  ? "inf"
               : fpclassify(v) == FP_ZERO      ? "zero"
               : fpclassify(v) == FP_SUBNORMAL ? "subnormal"
                                               : "normal",
               signbit(v) != 0, isinf(v) != 0, isnan(v) != 0);
    }
    /* Full expansions: every digit of DBL_MAX and of the smallest denormal. */
    printf("DBL_MAX %%.0f = %.0f\n", DBL_MAX);
    char buf[1200];
    snprintf(buf, sizeof buf, "%.1074f", 4.9406564584124654e-324);
    printf("denorm_min %%.1074f = %s\n", buf + 1000);
    printf("0.1 %%.60f = %.60f\n", 0.1);
    printf("float 1/3 %%a = %a, FLT_MAX = %e\n", (double)(1.0f / 3.0f), (double)FLT_MAX);

    /* strtod round trips and the edge strings (ERANGE on overflow and underflow to zero). */
    const char *strs[] = {"0", "-0", "1e400", "-1e400", "1e-400", "4.9406564584124654e-324", "2.4703282292062328e-324",
                          "2.4703282292062327e-324", "2.2250738585072011e-308", "2.2250738585072012e-308",
                          "0x1p-1074", "0x1.fffffffffffffp+1023", "0x1.8p1", "inf", "-Infinity", "nan", "NAN(123)",
                          "1.7976931348623158e308", "1.7976931348623159e308", "   +12.5e+1xyz", "9007199254740993",
                          "0.1000000000000000055511151231257827021181583404541015625", ".5", "5.", "e5", ""};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        char *end;
        errno = 0;
        double d = strtod(strs[i], &end);
        int e = errno;
        printf("strtod(\"%s\") = %a (%.17g) consumed=%d errno=%s\n", strs[i], d, d, (int)(end - strs[i]),
               e == ERANGE ? "ERANGE" : e == 0 ? "0" : "other");
    }
    int bad = 0;
    uint64_t s = 0x12345678abcdefull;
    for (int i = 0; i < 3000; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double d = from_bits(s);
        if (isnan(d)) continue;
        char t[64];
        snprintf(t, sizeof t, "%.17g", d);
        double back = strtod(t, NULL);
        if (memcmp(&back, &d, 8) != 0) bad++;
        snprintf(t, sizeof t, "%a", d);
        back = strtod(t, NULL);
        if (memcmp(&back, &d, 8) != 0) bad++;
    }
    printf("random round trips: %d mismatches\n", bad);

    /* long double is IEEE quad on riscv64 (software arithmetic in libgcc). */
    long double q = 1.0L / 3.0L;
    printf("long double 1/3 = %.33Lg, %La, sqrt(2)*1e100 = %.30Le\n", q, q, sqrtl(2.0L) * 1e100L);
    return 0;
}
