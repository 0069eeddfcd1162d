/* An independent C implementation of the formulas in docs/kernels.md (float, op by op, no
 * FMA: build with -ffp-contract=off), and helpers shared by the C tests. */
#ifndef QAT_TEST_REFERENCE_H
#define QAT_TEST_REFERENCE_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qat_kernels.h"

static int failures = 0;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            failures++;                                                    \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

static inline float widen(qat_bf16 b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline qat_bf16 narrow(float f) {
    uint32_t u;
    if (isnan(f)) return 0x7FC0;
    memcpy(&u, &f, sizeof u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (qat_bf16)(u >> 16);
}

static inline float ref_max(float x, float lo) { return x < lo ? lo : x; }
static inline float ref_min(float x, float hi) { return x > hi ? hi : x; }
static inline float ref_clip(float x, float lo, float hi) { return ref_min(ref_max(x, lo), hi); }
/* nearbyintf rounds half to even in the default rounding mode. */
static inline float ref_round(float x) { return nearbyintf(x); }

/* A reduced output before narrowing: exact-ish value and the allowed error
 * beyond one bf16 ulp. */
typedef struct { double value, allowed; } reduced;

static inline int reduced_ok(qat_bf16 got, reduced want) {
    double g = widen(got), ulp;
    if (isnan(want.value)) return got == 0x7FC0;
    if (isinf(want.value) || fabs(want.value) > 3.4028234663852886e38) return isinf(g) && (g > 0) == (want.value > 0);
    ulp = fabs(want.value) < 1.17549435e-38 ? ldexp(1.0, -133) : ldexp(1.0, ilogb(want.value) - 7);
    return fabs(g - want.value) <= ulp + want.allowed + fabs(want.value) * ldexp(1.0, -23);
}

/* Asymmetric per group, forward and backward, for `groups` groups. */
static inline void ref_asymmetric(const qat_bf16 *g, const qat_bf16 *x, const qat_bf16 *s, const qat_bf16 *o,
                           size_t groups, size_t size, unsigned bit, float eps, float clip_val,
                           qat_bf16 *out, qat_bf16 *gw, reduced *gs, reduced *go) {
    float n = ldexpf(1.0f, (int)bit - 1);
    size_t k, i;
    for (k = 0; k < groups; k++) {
        float sk = widen(s[k]), ok = widen(o[k]);
        float alpha = ref_max(sk, eps) * n;
        double off = 0, off_mag = 0, al = 0, al_mag = 0;
        for (i = k * size; i < (k + 1) * size; i++) {
            float xi = widen(x[i]), gi = widen(g[i]);
            float xn = (xi - ok) / alpha;
            float xc = ref_clip(xn, -clip_val, clip_val);
            float r = ref_round(xc * n - 0.5f);
            float d = (r + 0.5f) / n;
            float mask = isnan(xn) ? NAN : (-clip_val <= xn && xn <= clip_val) ? 1.0f : 0.0f;
            float t_off = gi * (1.0f - mask), t_al = gi * (d - xn * mask);
            out[i] = narrow(d * alpha + ok);
            gw[i] = narrow(gi * mask);
            off += t_off; off_mag += fabs(t_off);
            al += t_al; al_mag += fabs(t_al);
        }
        go[k].value = (double)(float)off;
        go[k].allowed = off_mag * ldexp(1.0, -22);
        gs[k].value = (double)((float)al * n * (sk > eps ? 1.0f : 0.0f));
        gs[k].allowed = al_mag * n * ldexp(1.0, -22);
    }
}

/* Symmetric with one scale per row (per tensor: rows = 1). */
static inline void ref_symmetric(const qat_bf16 *g, const qat_bf16 *x, const qat_bf16 *s, size_t rows, size_t cols,
                          float eps, float min_v, float max_v, qat_bf16 *out, qat_bf16 *gw, reduced *gs) {
    size_t row, i;
    for (row = 0; row < rows; row++) {
        float sr = widen(s[row]), ps = ref_max(sr, eps);
        double a = 0, b = 0, mag = 0;
        for (i = row * cols; i < (row + 1) * cols; i++) {
            float xi = widen(x[i]), gi = widen(g[i]);
            float r = ref_round(xi / ps);
            float c = ref_clip(r, min_v, max_v) + 0.0f; /* a zero level is +0 */
            float mask = 1.0f - ref_clip(fabsf(r - c), 0.0f, 1.0f);
            float t1 = gi * c, t2 = (gi * mask) * ((-xi) / ps);
            out[i] = narrow(c * ps);
            gw[i] = narrow(gi * mask);
            a += t1; b += t2; mag += fabs(t1) + fabs(t2);
        }
        gs[row].value = (double)(((float)a + (float)b) * (sr > eps ? 1.0f : 0.0f));
        gs[row].allowed = mag * ldexp(1.0, -22);
    }
}

/* Dynamic per token (docs/kernels.md, "Per-token activations"): each row's
 * scale and zero point from its extremes, its values, and the
 * straight-through gradient. */
static inline void ref_per_token(const qat_bf16 *g, const qat_bf16 *x, size_t rows, size_t cols, unsigned bit,
                                 float eps, int symmetric, qat_bf16 *out, float *scale, int32_t *zero_point,
                                 qat_bf16 *gx) {
    float qmin = -ldexpf(1.0f, (int)bit - 1), qmax = ldexpf(1.0f, (int)bit - 1) - 1.0f;
    size_t row, i;
    for (row = 0; row < rows; row++) {
        float lo = 0.0f, hi = 0.0f, min_neg, max_pos, s, zp;
        int nan = 0;
        for (i = row * cols; i < (row + 1) * cols; i++) {
            float v = widen(x[i]);
            if (isnan(v)) nan = 1;
            if (i == row * cols || v < lo) lo = v;
            if (i == row * cols || v > hi) hi = v;
        }
        if (nan) lo = hi = NAN;
        min_neg = lo > 0.0f ? 0.0f : lo;
        max_pos = hi < 0.0f ? 0.0f : hi;
        if (symmetric) {
            float largest = -min_neg < max_pos ? max_pos : -min_neg;
            s = ref_max(largest / ((qmax - qmin) / 2.0f), eps);
            zp = 0.0f;
        } else {
            s = ref_max((max_pos - min_neg) / (qmax - qmin), eps);
            zp = ref_clip(qmin - ref_round(min_neg / s), qmin, qmax);
        }
        if (isnan(s)) s = NAN; /* one NaN, positive */
        scale[row] = s;
        zero_point[row] = isnan(zp) ? 0 : (int32_t)zp;
        for (i = row * cols; i < (row + 1) * cols; i++) {
            float r = ref_round(widen(x[i]) / s) + zp;
            float mask = isnan(r) ? NAN : (qmin <= r && r <= qmax) ? 1.0f : 0.0f;
            out[i] = narrow((ref_clip(r, qmin, qmax) - zp) * s);
            gx[i] = narrow(widen(g[i]) * mask);
        }
    }
}

/* xorshift64*: deterministic test data. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline double rng_unit(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}
static inline qat_bf16 rng_bf16(double lo, double hi) { return narrow((float)(lo + (hi - lo) * rng_unit())); }

/* The ISAs this CPU offers, by asking qat_set_isa; leaves AUTO selected. */
static inline int available_isas(int32_t *isas) {
    int n = 0;
    int32_t isa;
    for (isa = QAT_ISA_SCALAR; isa <= QAT_ISA_AVX512; isa++)
        if (qat_set_isa(isa) == QAT_OK) isas[n++] = isa;
    qat_set_isa(QAT_ISA_AUTO);
    return n;
}

#endif
