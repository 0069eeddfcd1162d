/* Export to integer codes through the C ABI, on every ISA this CPU runs:
 * codes equal to the independent reference's, their values bit for bit the
 * forward pass's, packing, and every status with outputs untouched. */
#include "reference.h"

enum { GROUPS = 5, GROUP = 37, N = GROUPS * GROUP, ROWS = 5, COLS = 37 };

static qat_bf16 x[N], s[GROUPS], o[GROUPS], fwd[N], values[N];
static uint8_t codes[N], back[N], packed[N];
static int8_t signed_codes[N], signed_back[N];

/* The reference's code of one weight: docs/kernels.md, op by op. */
static uint8_t ref_code(float xi, float si, float oi, int bit, float eps, float clip_val) {
    float n = ldexpf(1.0f, bit - 1);
    float alpha = ref_max(si, eps) * n;
    float xn = (xi - oi) / alpha;
    float r = ref_round(ref_clip(xn, -clip_val, clip_val) * n - 0.5f);
    return (uint8_t)(r + n);
}

static int isas(int32_t *list) {
    int count = 0;
    int32_t isa;
    for (isa = QAT_ISA_SCALAR; isa <= QAT_ISA_AVX512; isa++)
        if (qat_set_isa(isa) == QAT_OK) list[count++] = isa;
    qat_set_isa(QAT_ISA_AUTO);
    return count;
}

int main(void) {
    int32_t list[8];
    int count = isas(list), k, bit;
    size_t i;
    for (i = 0; i < N; i++) x[i] = i % 23 == 3 ? narrow(i % 2 ? INFINITY : -INFINITY) : rng_bf16(-0.3, 0.3);
    for (i = 0; i < GROUPS; i++) {
        s[i] = rng_bf16(1e-3, 4e-2);
        o[i] = rng_bf16(-0.02, 0.02);
    }
    for (k = 0; k < count; k++) {
        CHECK(qat_set_isa(list[k]) == QAT_OK, "isa %d", (int)list[k]);
        for (bit = 1; bit <= 8; bit++) {
            CHECK(qat_asymmetric_per_group_quantize(x, s, o, codes, N, GROUP, (uint32_t)bit, 1e-4f, 0.99f) == QAT_OK,
                  "quantize, bit %d", bit);
            for (i = 0; i < N; i++) {
                uint8_t want = ref_code(widen(x[i]), widen(s[i / GROUP]), widen(o[i / GROUP]), bit, 1e-4f, 0.99f);
                if (codes[i] != want) {
                    CHECK(0, "isa %d bit %d code %zu: %d, want %d", (int)list[k], bit, i, codes[i], want);
                    break;
                }
            }
            CHECK(qat_asymmetric_per_group_dequantize(codes, s, o, values, N, GROUP, (uint32_t)bit, 1e-4f, 0.99f) ==
                      QAT_OK,
                  "dequantize");
            CHECK(qat_asymmetric_per_group(x, s, o, fwd, N, GROUP, (uint32_t)bit, 1e-4f, 0.99f) == QAT_OK, "forward");
            CHECK(memcmp(values, fwd, sizeof fwd) == 0, "isa %d bit %d: values of codes are not the forward pass",
                  (int)list[k], bit);
            if (bit == 1 || bit == 2 || bit == 4 || bit == 8) {
                size_t bytes = qat_packed_size(N, (uint32_t)bit);
                CHECK(bytes == (N * (size_t)bit + 7) / 8, "packed size");
                CHECK(qat_pack_codes(codes, N, (uint32_t)bit, packed) == QAT_OK, "pack");
                CHECK(qat_unpack_codes(packed, N, (uint32_t)bit, back) == QAT_OK && memcmp(back, codes, N) == 0,
                      "unpack, bit %d", bit);
            }
        }
        /* Symmetric, per channel and per tensor, 4 bits. */
        CHECK(qat_symmetric_per_channel_quantize(x, s, signed_codes, ROWS, COLS, 1e-4f, -8, 7) == QAT_OK, "sym");
        CHECK(qat_symmetric_per_channel_dequantize(signed_codes, s, values, ROWS, COLS, 1e-4f, -8, 7) == QAT_OK, "sym dequantize");
        CHECK(qat_symmetric_per_channel(x, s, fwd, ROWS, COLS, 1e-4f, -8, 7) == QAT_OK, "forward");
        CHECK(memcmp(values, fwd, sizeof fwd) == 0, "isa %d: symmetric values are not the forward pass",
              (int)list[k]);
        for (i = 0; i < N; i++) {
            float c = ref_clip(ref_round(widen(x[i]) / ref_max(widen(s[i / COLS]), 1e-4f)), -8, 7);
            if (signed_codes[i] != (int8_t)c) {
                CHECK(0, "symmetric code %zu: %d, want %d", i, signed_codes[i], (int)c);
                break;
            }
        }
        CHECK(qat_pack_signed_codes(signed_codes, N, 4, packed) == QAT_OK, "pack signed");
        CHECK(qat_unpack_signed_codes(packed, N, 4, signed_back) == QAT_OK &&
                  memcmp(signed_back, signed_codes, N) == 0,
              "unpack signed");
        CHECK(qat_symmetric_per_tensor_quantize(x, s, signed_codes, N, 1e-4f, -128, 127) == QAT_OK, "tensor");
        CHECK(qat_symmetric_per_tensor_dequantize(signed_codes, s, values, N, 1e-4f, -128, 127) == QAT_OK, "tensor");
        CHECK(qat_symmetric_per_tensor(x, s, fwd, N, 1e-4f, -128, 127) == QAT_OK &&
                  memcmp(values, fwd, sizeof fwd) == 0,
              "per tensor values are not the forward pass");
    }
    qat_set_isa(QAT_ISA_AUTO);

    /* Every status, nothing written. */
    memset(codes, 0xA5, sizeof codes);
    memset(signed_codes, 0x5A, sizeof signed_codes);
    memset(values, 0x77, sizeof values);
    memset(packed, 0x33, sizeof packed);
    {
        static qat_bf16 with_nan[N];
        static uint8_t codes_copy[N];
        static int8_t signed_copy[N];
        static qat_bf16 values_copy[N];
        static uint8_t packed_copy[N];
        memcpy(with_nan, x, sizeof x);
        with_nan[N - 1] = 0x7FC1;
        memcpy(codes_copy, codes, N);
        memcpy(signed_copy, signed_codes, N);
        memcpy(values_copy, values, sizeof values);
        memcpy(packed_copy, packed, N);
        CHECK(qat_asymmetric_per_group_quantize(with_nan, s, o, codes, N, GROUP, 4, 1e-4f, 0.99f) ==
                  QAT_ERR_NON_FINITE, "NaN weight");
        CHECK(qat_asymmetric_per_group_quantize(x, s, o, codes, N, GROUP, 9, 1e-4f, 0.99f) == QAT_ERR_BIT_WIDTH,
              "9 bits");
        CHECK(qat_asymmetric_per_group_quantize(NULL, s, o, codes, N, GROUP, 4, 1e-4f, 0.99f) == QAT_ERR_POINTER,
              "null");
        CHECK(qat_asymmetric_per_group_quantize(x, s, o, codes, N, 6, 4, 1e-4f, 0.99f) == QAT_ERR_SHAPE, "shape");
        CHECK(qat_asymmetric_per_group_quantize(x, s, o, codes, N, GROUP, 4, 0.0f, 0.99f) == QAT_ERR_EPS, "eps");
        CHECK(qat_asymmetric_per_group_quantize(x, s, o, codes, N, GROUP, 4, 1e-4f, 1.0f) == QAT_ERR_CLIP, "clip");
        CHECK(qat_asymmetric_per_group_quantize(x, s, o, (uint8_t *)x + 1, N, GROUP, 4, 1e-4f, 0.99f) ==
                  QAT_ERR_OVERLAP, "codes over the weights");
        CHECK(qat_asymmetric_per_group_quantize((const qat_bf16 *)((const char *)x + 1), s, o, codes, N, GROUP, 4,
                                                1e-4f, 0.99f) == QAT_ERR_POINTER,
              "misaligned weights");
        codes[0] = 16;
        memcpy(codes_copy, codes, N);
        CHECK(qat_asymmetric_per_group_dequantize(codes, s, o, values, N, GROUP, 4, 1e-4f, 0.99f) == QAT_ERR_CODE,
              "code 16 of 4 bits");
        CHECK(qat_symmetric_per_tensor_quantize(with_nan, s, signed_codes, N, 1e-4f, -8, 7) == QAT_ERR_NON_FINITE,
              "NaN weight, symmetric");
        CHECK(qat_symmetric_per_tensor_quantize(x, s, signed_codes, N, 1e-4f, -8, 128) == QAT_ERR_RANGE, "128");
        CHECK(qat_symmetric_per_channel_dequantize((const int8_t *)codes, s, values, ROWS, COLS, 1e-4f, -8, 7) ==
                  QAT_ERR_CODE, "code off the signed grid");
        CHECK(qat_pack_codes(codes, N, 4, packed) == QAT_ERR_CODE, "pack 16 in 4 bits");
        CHECK(qat_pack_codes(codes, N, 3, packed) == QAT_ERR_BIT_WIDTH, "pack 3 bits");
        CHECK(qat_pack_codes(codes, N, 8, codes + 1) == QAT_ERR_OVERLAP, "pack over the codes");
        CHECK(qat_unpack_codes(NULL, N, 4, codes) == QAT_ERR_POINTER, "unpack null");
        CHECK(memcmp(codes, codes_copy, N) == 0 && memcmp(signed_codes, signed_copy, N) == 0 &&
                  memcmp(values, values_copy, sizeof values) == 0 && memcmp(packed, packed_copy, N) == 0,
              "a refused call wrote");
        /* Empty inputs, null pointers with them. */
        CHECK(qat_asymmetric_per_group_quantize(NULL, NULL, NULL, NULL, 0, 4, 4, 1e-4f, 0.99f) == QAT_OK, "empty");
        CHECK(qat_pack_codes(NULL, 0, 2, NULL) == QAT_OK && qat_packed_size(0, 2) == 0, "empty pack");
        CHECK(qat_packed_size(5, 3) == 0 && qat_packed_size(5, 4) == 3, "packed sizes");
    }
    if (failures) return 1;
    printf("test_codes (%d ISAs, bit widths 1..8, packing, statuses): ok\n", count);
    return 0;
}
