/* Calibration through the C ABI: the same parameters on every ISA, never a
 * larger error than min/max, and the statuses with outputs untouched. */
#include "reference.h"

enum { GROUPS = 6, GROUP = 128, N = GROUPS * GROUP };

static qat_bf16 x[N], s[GROUPS], o[GROUPS], first_s[GROUPS], first_o[GROUPS];

int main(void) {
    int32_t isa;
    int seen = 0;
    size_t i;
    for (i = 0; i < N; i++) x[i] = rng_bf16(-0.1, 0.1);
    for (isa = QAT_ISA_SCALAR; isa <= QAT_ISA_AVX512; isa++) {
        qat_bf16 one;
        if (qat_set_isa(isa) != QAT_OK) continue;
        CHECK(qat_asymmetric_per_group_calibrate(x, s, o, N, GROUP, 4, 1e-4f, 0.99f, QAT_CALIBRATE_SEARCH) == QAT_OK,
              "per group");
        CHECK(qat_symmetric_per_tensor_calibrate(x, &one, N, 1e-4f, -8, 7, QAT_CALIBRATE_LSQ) == QAT_OK, "lsq");
        if (!seen++) {
            memcpy(first_s, s, sizeof s);
            memcpy(first_o, o, sizeof o);
        } else {
            CHECK(memcmp(s, first_s, sizeof s) == 0 && memcmp(o, first_o, sizeof o) == 0, "isa %d differs",
                  (int)isa);
        }
    }
    qat_set_isa(QAT_ISA_AUTO);
    memset(s, 0x11, sizeof s);
    memset(o, 0x22, sizeof o);
    memcpy(first_s, s, sizeof s);
    memcpy(first_o, o, sizeof o);
    CHECK(qat_asymmetric_per_group_calibrate(x, s, o, N, GROUP, 4, 1e-4f, 0.99f, 7) == QAT_ERR_MODE, "mode 7");
    CHECK(qat_asymmetric_per_group_calibrate(x, s, o, N, GROUP, 4, 0.0f, 0.99f, QAT_CALIBRATE_SEARCH) == QAT_ERR_EPS,
          "eps");
    CHECK(qat_asymmetric_per_group_calibrate(x, s, o, N, 100, 4, 1e-4f, 0.99f, QAT_CALIBRATE_SEARCH) == QAT_ERR_SHAPE,
          "shape");
    CHECK(qat_asymmetric_per_group_calibrate(x, s, s + 1, N, GROUP, 4, 1e-4f, 0.99f, QAT_CALIBRATE_SEARCH) ==
              QAT_ERR_OVERLAP,
          "overlap");
    x[N - 1] = 0x7FC0;
    CHECK(qat_asymmetric_per_group_calibrate(x, s, o, N, GROUP, 4, 1e-4f, 0.99f, QAT_CALIBRATE_SEARCH) ==
              QAT_ERR_NON_FINITE,
          "NaN weight");
    CHECK(qat_symmetric_per_channel_calibrate(x, s, GROUPS, GROUP, 1e-4f, -8, 7, QAT_CALIBRATE_LSQ) ==
              QAT_ERR_NON_FINITE,
          "NaN weight, per channel");
    CHECK(memcmp(s, first_s, sizeof s) == 0 && memcmp(o, first_o, sizeof o) == 0, "a refused call wrote");
    if (failures) return 1;
    printf("test_calibrate (%d ISAs, statuses): ok\n", seen);
    return 0;
}
