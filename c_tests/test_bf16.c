/* The header's qat_bf16_from_float and qat_bf16_to_float:
 *   - widening over all 65,536 bf16 patterns, and the round trip;
 *   - narrowing over 65,536 x 2,048 = 134,217,728 f32 patterns (every upper
 *     half, so every sign and exponent and every NaN and infinity class, each
 *     with 2,048 lower halves: the tie 0x8000, its neighbours, and
 *     pseudo-random ones) against a rounding computed from distances rather
 *     than bits; with QAT_BF16_LOWER_HALVES=64 (the quick run of
 *     `make test`), 64 lower halves each, the same special ones first;
 *   - narrowing against the library's own: the per-tensor forward with a zero
 *     scale and min_v = max_v = 1 (or -1) writes the bf16 of +eps (or -eps),
 *     so every positive finite f32 can be passed through it as eps. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qat_kernels.h"

static unsigned long failures = 0;

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Magnitude of a bf16 pattern as a double; the pattern past the largest
   finite one (infinity's) stands for 2^128, where IEEE rounding puts the
   overflow threshold's far end. */
static double magnitude(uint32_t pattern) {
    if ((pattern & 0x7FFFu) == 0x7F80u) return ldexp(1.0, 128);
    return fabs((double)float_of(pattern << 16));
}

/* Nearest bf16 to the f32 with these bits, ties to the even pattern, NaN as
   0x7FC0: decided by comparing the distances to the two neighbours. */
static qat_bf16 reference_narrow(uint32_t bits) {
    float x = float_of(bits);
    if (x != x) return 0x7FC0u;
    uint32_t toward_zero = bits >> 16;
    if ((bits & 0xFFFFu) == 0) return (qat_bf16)toward_zero;
    uint32_t away = toward_zero + 1; /* sign and magnitude: one step out */
    double ax = fabs((double)x);
    double below = ax - magnitude(toward_zero);
    double above = magnitude(away) - ax;
    if (below < above) return (qat_bf16)toward_zero;
    if (above < below) return (qat_bf16)away;
    return (qat_bf16)((toward_zero & 1u) ? away : toward_zero);
}

static uint64_t xorshift_state = 0x9E3779B97F4A7C15ull;
static uint32_t next_random(void) {
    xorshift_state ^= xorshift_state << 13;
    xorshift_state ^= xorshift_state >> 7;
    xorshift_state ^= xorshift_state << 17;
    return (uint32_t)(xorshift_state >> 32);
}

#define LOWER_HALVES 2048
static uint32_t lower_halves[LOWER_HALVES];

static void report(const char *what, uint32_t input, unsigned got, unsigned want) {
    if (failures++ < 10)
        fprintf(stderr, "%s: 0x%08lX gives 0x%04X, expected 0x%04X\n", what, (unsigned long)input, got, want);
}

int main(void) {
    size_t halves = LOWER_HALVES;
    const char *requested = getenv("QAT_BF16_LOWER_HALVES");
    if (requested) {
        long n = strtol(requested, NULL, 10);
        if (n < 64 || n > LOWER_HALVES) {
            fprintf(stderr, "QAT_BF16_LOWER_HALVES must be 64 to %d\n", LOWER_HALVES);
            return 2;
        }
        halves = (size_t)n;
    }
    const uint32_t special[] = {0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x4000, 0xC000};
    size_t n = 0;
    for (; n < sizeof special / sizeof special[0]; n++) lower_halves[n] = special[n];
    for (; n < LOWER_HALVES; n++) lower_halves[n] = next_random() & 0xFFFFu;

    /* Widening is exact, and narrowing gives back every non-NaN pattern. */
    for (uint32_t b = 0; b <= 0xFFFFu; b++) {
        float f = qat_bf16_to_float((qat_bf16)b);
        if (bits_of(f) != b << 16) report("to_float", b, (unsigned)(bits_of(f) >> 16), (unsigned)b);
        int nan = (b & 0x7F80u) == 0x7F80u && (b & 0x7Fu) != 0;
        qat_bf16 back = qat_bf16_from_float(f);
        if (back != (nan ? 0x7FC0u : b)) report("round trip", b, back, nan ? 0x7FC0u : (unsigned)b);
    }
    if (qat_bf16_to_float(0x3F80u) != 1.0f || qat_bf16_to_float(0xC040u) != -3.0f) {
        fprintf(stderr, "to_float: wrong values\n");
        failures++;
    }

    /* Narrowing against the distance-based rounding. */
    unsigned long checked = 0;
    for (uint32_t upper = 0; upper <= 0xFFFFu; upper++) {
        for (size_t i = 0; i < halves; i++) {
            uint32_t bits = upper << 16 | lower_halves[i];
            qat_bf16 got = qat_bf16_from_float(float_of(bits));
            qat_bf16 want = reference_narrow(bits);
            if (got != want) report("from_float", bits, got, want);
        }
        checked += halves;
    }

    /* Narrowing against the library's, for every positive finite upper half
       with 64 lower halves, both signs. */
    unsigned long library_checked = 0;
    const qat_bf16 zero = 0;
    for (uint32_t upper = 0; upper < 0x7F80u; upper++) {
        for (size_t i = 0; i < 64; i++) {
            uint32_t bits = upper << 16 | lower_halves[i];
            if (bits == 0) continue; /* eps must be positive */
            float eps = float_of(bits);
            for (int sign = -1; sign <= 1; sign += 2) {
                qat_bf16 out = 0x1234u;
                int32_t status = qat_symmetric_per_tensor(&zero, &zero, &out, 1, eps, (float)sign, (float)sign);
                qat_bf16 want = qat_bf16_from_float((float)sign * eps);
                if (status != QAT_OK) report("library status", bits, (unsigned)status, QAT_OK);
                else if (out != want) report("library narrowing", bits, out, want);
                library_checked++;
            }
        }
    }

    if (failures) {
        fprintf(stderr, "test_bf16: %lu failures\n", failures);
        return 1;
    }
    printf("test_bf16 (65536 bf16 round trips, %lu f32 patterns, %lu against the library): ok\n", checked,
           library_checked);
    return 0;
}
