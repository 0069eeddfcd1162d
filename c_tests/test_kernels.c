/* The training kernels (each weight quantizer's forward and backward)
 * through the C ABI, on every ISA the CPU offers and each way of dividing:
 * golden values from the independent reference in reference.h, every
 * status code with outputs untouched, in-place calls, empty inputs, the
 * helpers. */
#include "reference.h"

#define SENTINEL 0xDEADu

static int all_equal(const qat_bf16 *a, const qat_bf16 *b, size_t n) {
    return n == 0 || memcmp(a, b, n * sizeof *a) == 0;
}

static int untouched(const qat_bf16 *a, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (a[i] != SENTINEL) return 0;
    return 1;
}

static void fill(qat_bf16 *a, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) a[i] = SENTINEL;
}

enum { GROUPS = 24, SIZE = 37, NUMEL = GROUPS * SIZE, ROWS = 8, COLS = NUMEL / ROWS };

static void golden(int32_t isa) {
    static qat_bf16 g[NUMEL], x[NUMEL], s[GROUPS], o[GROUPS], out[NUMEL], gw[NUMEL], gs[GROUPS], go[GROUPS];
    static qat_bf16 rout[NUMEL], rgw[NUMEL];
    static const float specials[] = {0.0f, -0.0f, 0.5f, -2.5f, 1e30f, -1e30f};
    reduced rgs[GROUPS], rgo[GROUPS];
    size_t i;
    int round;
    for (round = 0; round < 3; round++) {
        for (i = 0; i < NUMEL; i++) {
            x[i] = round == 0 ? rng_bf16(-5, 5) : narrow((float)(0.02 * (rng_unit() - 0.5)));
            g[i] = rng_bf16(-1, 1);
            if (round == 2 && i % 13 == 0) x[i] = narrow(specials[i % 6]);
        }
        for (i = 0; i < GROUPS; i++) {
            s[i] = round == 0 ? rng_bf16(-5, 5) : rng_bf16(1e-3, 5e-2);
            o[i] = round == 0 ? rng_bf16(-5, 5) : rng_bf16(-0.01, 0.01);
        }
        if (round == 2) { s[0] = narrow(1e-4f); s[1] = narrow(-0.0f); s[2] = narrow(NAN); s[3] = narrow(INFINITY); }

        ref_asymmetric(g, x, s, o, GROUPS, SIZE, 4, 1e-4f, 0.99f, rout, rgw, rgs, rgo);
        CHECK(qat_asymmetric_per_group(x, s, o, out, NUMEL, SIZE, 4, 1e-4f, 0.99f) == QAT_OK, "isa %d", isa);
        CHECK(qat_asymmetric_per_group_backward(g, x, s, o, gw, gs, go, NUMEL, SIZE, 4, 1e-4f, 0.99f) == QAT_OK, "isa %d", isa);
        CHECK(all_equal(out, rout, NUMEL), "asymmetric forward, isa %d round %d", isa, round);
        CHECK(all_equal(gw, rgw, NUMEL), "asymmetric grad_weight, isa %d round %d", isa, round);
        for (i = 0; i < GROUPS; i++) {
            CHECK(reduced_ok(gs[i], rgs[i]), "grad_scale[%zu] %g vs %g, isa %d", i, widen(gs[i]), rgs[i].value, isa);
            CHECK(reduced_ok(go[i], rgo[i]), "grad_offset[%zu] %g vs %g, isa %d", i, widen(go[i]), rgo[i].value, isa);
        }

        ref_symmetric(g, x, s, ROWS, COLS, 1e-4f, -8, 7, rout, rgw, rgs);
        CHECK(qat_symmetric_per_channel(x, s, out, ROWS, COLS, 1e-4f, -8, 7) == QAT_OK, "isa %d", isa);
        CHECK(qat_symmetric_per_channel_backward(g, x, s, gw, gs, ROWS, COLS, 1e-4f, -8, 7) == QAT_OK, "isa %d", isa);
        CHECK(all_equal(out, rout, NUMEL), "per-channel forward, isa %d round %d", isa, round);
        CHECK(all_equal(gw, rgw, NUMEL), "per-channel grad_weight, isa %d round %d", isa, round);
        for (i = 0; i < ROWS; i++)
            CHECK(reduced_ok(gs[i], rgs[i]), "per-channel grad_scale[%zu] %g vs %g", i, widen(gs[i]), rgs[i].value);

        ref_symmetric(g, x, s + 5, 1, NUMEL, 1e-4f, -128, 127, rout, rgw, rgs);
        CHECK(qat_symmetric_per_tensor(x, s + 5, out, NUMEL, 1e-4f, -128, 127) == QAT_OK, "isa %d", isa);
        CHECK(qat_symmetric_per_tensor_backward(g, x, s + 5, gw, gs, NUMEL, 1e-4f, -128, 127) == QAT_OK, "isa %d", isa);
        CHECK(all_equal(out, rout, NUMEL), "per-tensor forward, isa %d round %d", isa, round);
        CHECK(all_equal(gw, rgw, NUMEL), "per-tensor grad_weight, isa %d round %d", isa, round);
        CHECK(reduced_ok(gs[0], rgs[0]), "per-tensor grad_scale %g vs %g", widen(gs[0]), rgs[0].value);
    }
}

/* Every error status; outputs keep the sentinel. */
static void statuses(int32_t isa) {
    static qat_bf16 g[256], x[256], s[4], o[4], out[256], gw[256], gs[4], go[4];
    const qat_bf16 *null = NULL;
    size_t i;
    for (i = 0; i < 256; i++) { x[i] = rng_bf16(-1, 1); g[i] = rng_bf16(-1, 1); }
    for (i = 0; i < 4; i++) { s[i] = narrow(0.05f); o[i] = 0; }
    fill(out, 256); fill(gw, 256); fill(gs, 4); fill(go, 4);

#define ASYM(numel, size, bit, eps, clip) qat_asymmetric_per_group(x, s, o, out, numel, size, bit, eps, clip)
#define ASYM_B(numel, size, bit, eps, clip) \
    qat_asymmetric_per_group_backward(g, x, s, o, gw, gs, go, numel, size, bit, eps, clip)
    CHECK(qat_asymmetric_per_group(null, s, o, out, 256, 64, 4, 1e-4f, 0.99f) == QAT_ERR_POINTER, "isa %d", isa);
    CHECK(qat_asymmetric_per_group((const qat_bf16 *)((const char *)x + 1), s, o, out, 256, 64, 4, 1e-4f, 0.99f) == QAT_ERR_POINTER, "misaligned");
    CHECK(qat_asymmetric_per_group_backward(g, x, s, o, gw, gs, NULL, 256, 64, 4, 1e-4f, 0.99f) == QAT_ERR_POINTER, "null grad_offset");
    CHECK(ASYM(256, 0, 4, 1e-4f, 0.99f) == QAT_ERR_SHAPE, "group 0");
    CHECK(ASYM_B(256, 100, 4, 1e-4f, 0.99f) == QAT_ERR_SHAPE, "group 100");
    CHECK(ASYM((size_t)-1, 1, 4, 1e-4f, 0.99f) == QAT_ERR_SHAPE, "huge numel");
    CHECK(ASYM(256, 64, 0, 1e-4f, 0.99f) == QAT_ERR_BIT_WIDTH, "bit 0");
    CHECK(ASYM_B(256, 64, 17, 1e-4f, 0.99f) == QAT_ERR_BIT_WIDTH, "bit 17");
    CHECK(ASYM(256, 64, 4, 0.0f, 0.99f) == QAT_ERR_EPS, "eps 0");
    CHECK(ASYM_B(256, 64, 4, NAN, 0.99f) == QAT_ERR_EPS, "eps nan");
    CHECK(ASYM(256, 64, 4, INFINITY, 0.99f) == QAT_ERR_EPS, "eps inf");
    CHECK(ASYM(256, 64, 4, 1e-4f, 1.0f) == QAT_ERR_CLIP, "clip 1");
    CHECK(ASYM_B(256, 64, 4, 1e-4f, 0.0f) == QAT_ERR_CLIP, "clip 0");
    CHECK(ASYM(256, 64, 4, 1e-4f, NAN) == QAT_ERR_CLIP, "clip nan");
    CHECK(qat_asymmetric_per_group(x, s, o, (qat_bf16 *)x + 1, 200, 50, 4, 1e-4f, 0.99f) == QAT_ERR_OVERLAP, "overlap");
    CHECK(qat_asymmetric_per_group_backward(g, x, s, o, gw, gs, gs, 256, 64, 4, 1e-4f, 0.99f) == QAT_ERR_OVERLAP, "outputs alias");
    CHECK(qat_symmetric_per_channel(x, s, out, (size_t)1 << 40, (size_t)1 << 40, 1e-4f, -8, 7) == QAT_ERR_SHAPE, "overflow");
    CHECK(qat_symmetric_per_channel(x, s, out, 4, 64, 1e-4f, 7, -8) == QAT_ERR_RANGE, "min > max");
    CHECK(qat_symmetric_per_channel_backward(g, x, s, gw, gs, 4, 64, 1e-4f, -8.5f, 7) == QAT_ERR_RANGE, "fraction");
    CHECK(qat_symmetric_per_tensor(x, s, out, 256, 1e-4f, -8, 16777218.0f) == QAT_ERR_RANGE, "beyond 2^24");
    CHECK(qat_symmetric_per_tensor_backward(g, x, s, gw, gs, 256, 1e-4f, NAN, 7) == QAT_ERR_RANGE, "nan range");
    CHECK(qat_symmetric_per_tensor_backward(g, x, s, gw, gw + 5, 256, 1e-4f, -8, 7) == QAT_ERR_OVERLAP, "grad_scale in grad_weight");
    CHECK(qat_symmetric_per_tensor(x, NULL, out, 256, 1e-4f, -8, 7) == QAT_ERR_POINTER, "null scale");
    CHECK(qat_symmetric_per_channel_backward(g, x, s, gw, gs, 4, 64, -1.0f, -8, 7) == QAT_ERR_EPS, "negative eps");
    CHECK(untouched(out, 256) && untouched(gw, 256) && untouched(gs, 4) && untouched(go, 4), "outputs written on error, isa %d", isa);
#undef ASYM
#undef ASYM_B
}

static void in_place_and_empty(int32_t isa) {
    static qat_bf16 g[512], x[512], s[4], o[4], out[512], gw[512], gs[4], go[4];
    static qat_bf16 x2[512], g2[512], s2[4], o2[4];
    size_t i;
    for (i = 0; i < 512; i++) { x[i] = rng_bf16(-0.2, 0.2); g[i] = rng_bf16(-1, 1); }
    for (i = 0; i < 4; i++) { s[i] = rng_bf16(1e-3, 5e-2); o[i] = rng_bf16(-0.01, 0.01); }

    memcpy(x2, x, sizeof x);
    CHECK(qat_asymmetric_per_group(x, s, o, out, 512, 128, 4, 1e-4f, 0.99f) == QAT_OK, "isa %d", isa);
    CHECK(qat_asymmetric_per_group(x2, s, o, x2, 512, 128, 4, 1e-4f, 0.99f) == QAT_OK, "in place");
    CHECK(all_equal(x2, out, 512), "asymmetric forward in place, isa %d", isa);

    memcpy(g2, g, sizeof g); memcpy(s2, s, sizeof s); memcpy(o2, o, sizeof o);
    CHECK(qat_asymmetric_per_group_backward(g, x, s, o, gw, gs, go, 512, 128, 4, 1e-4f, 0.99f) == QAT_OK, "isa %d", isa);
    CHECK(qat_asymmetric_per_group_backward(g2, x, s2, o2, g2, s2, o2, 512, 128, 4, 1e-4f, 0.99f) == QAT_OK, "in place");
    CHECK(all_equal(g2, gw, 512) && all_equal(s2, gs, 4) && all_equal(o2, go, 4), "asymmetric backward in place, isa %d", isa);

    memcpy(x2, x, sizeof x); memcpy(s2, s, sizeof s);
    CHECK(qat_symmetric_per_channel_backward(g, x, s, gw, gs, 4, 128, 1e-4f, -8, 7) == QAT_OK, "isa %d", isa);
    CHECK(qat_symmetric_per_channel_backward(g, x2, s2, x2, s2, 4, 128, 1e-4f, -8, 7) == QAT_OK, "in place");
    CHECK(all_equal(x2, gw, 512) && all_equal(s2, gs, 4), "per-channel backward in place, isa %d", isa);

    memcpy(x2, x, sizeof x);
    CHECK(qat_symmetric_per_tensor(x, s, out, 512, 1e-4f, -128, 127) == QAT_OK, "isa %d", isa);
    CHECK(qat_symmetric_per_tensor(x2, s, x2, 512, 1e-4f, -128, 127) == QAT_OK, "in place");
    CHECK(all_equal(x2, out, 512), "per-tensor forward in place, isa %d", isa);

    /* Empty inputs: valid, NULL allowed where the count is 0, sums are +0. */
    gs[0] = SENTINEL;
    CHECK(qat_symmetric_per_tensor_backward(NULL, NULL, s, NULL, gs, 0, 1e-4f, -8, 7) == QAT_OK, "empty");
    CHECK(gs[0] == 0, "empty per-tensor grad_scale is +0.0, got %#x", gs[0]);
    CHECK(qat_asymmetric_per_group(NULL, NULL, NULL, NULL, 0, 128, 4, 1e-4f, 0.99f) == QAT_OK, "empty");
    CHECK(qat_symmetric_per_channel(NULL, NULL, NULL, 0, 0, 1e-4f, -8, 7) == QAT_OK, "empty");
}

static void helpers(void) {
    int32_t code;
    const char *unknown = qat_status_message(12345);
    CHECK(unknown != NULL && strcmp(unknown, "unknown status code") == 0, "unknown code");
    CHECK(strcmp(qat_status_message(-1), unknown) == 0, "negative code");
    for (code = QAT_OK; code <= QAT_ERR_UNSUPPORTED_ISA; code++) {
        const char *m = qat_status_message(code);
        CHECK(m != NULL && *m != '\0' && strcmp(m, unknown) != 0, "message of %d", code);
    }
    CHECK(strcmp(qat_version(), QAT_EXPECTED_VERSION) == 0, "version %s", qat_version());
    CHECK(qat_set_isa(99) == QAT_ERR_UNSUPPORTED_ISA, "unknown isa");
    CHECK(qat_active_isa() != QAT_ISA_AUTO, "active never AUTO");
    code = qat_active_division();
    CHECK(qat_set_division(3) == QAT_ERR_MODE && qat_set_division(-1) == QAT_ERR_MODE, "unknown division");
    CHECK(qat_active_division() == code, "a refused division changes nothing");
}

/* Sets the way of dividing, and checks what calls then take: by reciprocal
 * only where asked and the backend has fused multiply-add (not the portable
 * one), never AUTO. */
static void set_division(int32_t isa, int32_t division) {
    int32_t active;
    CHECK(qat_set_division(division) == QAT_OK, "division %d", division);
    active = qat_active_division();
    CHECK(active == QAT_DIVISION_INSTRUCTION || active == QAT_DIVISION_RECIPROCAL, "active division %d", active);
    if (division != QAT_DIVISION_AUTO)
        CHECK(active == (isa == QAT_ISA_SCALAR ? QAT_DIVISION_INSTRUCTION : division),
              "isa %d, division %d: active %d", isa, division, active);
}

int main(void) {
    int32_t isas[4], division;
    int n = available_isas(isas), i;
    CHECK(n >= 1 && isas[0] == QAT_ISA_SCALAR, "scalar always available");
    helpers();
    for (i = 0; i < n; i++) {
        CHECK(qat_set_isa(isas[i]) == QAT_OK, "set %d", isas[i]);
        CHECK(qat_active_isa() == isas[i], "active %d", isas[i]);
        for (division = QAT_DIVISION_AUTO; division <= QAT_DIVISION_RECIPROCAL; division++) {
            set_division(isas[i], division);
            golden(isas[i]);
        }
        set_division(isas[i], QAT_DIVISION_AUTO);
        statuses(isas[i]);
        in_place_and_empty(isas[i]);
    }
    qat_set_isa(QAT_ISA_AUTO);
    printf("test_kernels (qat %s, %d ISAs): %s\n", qat_version(), n, failures ? "FAILED" : "ok");
    return failures != 0;
}
