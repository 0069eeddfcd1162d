// The header from C++11: extern "C" linkage, the bf16 layout, a round trip.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "qat_kernels.h"

static_assert(sizeof(qat_bf16) == 2, "qat_bf16 is 16 bits");

// The documented values of the status codes and ISAs.
static_assert(QAT_OK == 0 && QAT_ERR_POINTER == 1 && QAT_ERR_SHAPE == 2 && QAT_ERR_BIT_WIDTH == 3 &&
                  QAT_ERR_EPS == 4 && QAT_ERR_CLIP == 5 && QAT_ERR_RANGE == 6 && QAT_ERR_OVERLAP == 7 &&
                  QAT_ERR_UNSUPPORTED_ISA == 8,
              "status codes");
static_assert(QAT_ISA_AUTO == 0 && QAT_ISA_SCALAR == 1 && QAT_ISA_AVX2 == 2 && QAT_ISA_NEON == 3 &&
                  QAT_ISA_AVX512 == 4,
              "ISA values");
static_assert(sizeof(qat_err) == 4 && sizeof(qat_isa) == 4, "the enums are 32-bit");

namespace {
// bf16 bit patterns of small exact values.
qat_bf16 bf16_of(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return static_cast<qat_bf16>(u >> 16);
}
}  // namespace

int main() {
    int failures = 0;
    // The header's conversion helpers compile as C++11 and round to nearest even.
    if (qat_bf16_from_float(1.0f) != 0x3F80 || qat_bf16_to_float(0xC040) != -3.0f) failures++;
    const std::uint32_t ties[] = {0x3F808000u, 0x3F818000u};  // round down to even, round up to even
    const qat_bf16 ties_expected[] = {0x3F80, 0x3F82};
    for (int i = 0; i < 2; i++) {
        float f;
        std::memcpy(&f, &ties[i], sizeof f);
        if (qat_bf16_from_float(f) != ties_expected[i]) failures++;
    }
    if (qat_bf16_from_float(qat_bf16_to_float(0xFFC1)) != 0x7FC0) failures++;  // every NaN is 0x7FC0
    const float values[] = {0.0f, 0.25f, -0.25f, 0.375f, 2.0f, -2.0f, 0.0625f, -0.125f};
    std::vector<qat_bf16> weight, out(8), grad(8, bf16_of(1.0f)), grad_weight(8);
    for (float v : values) weight.push_back(bf16_of(v));
    const qat_bf16 scale = bf16_of(0.25f);
    qat_bf16 grad_scale = 0;
    // 4-bit per tensor: x / 0.25 rounds half to even, then clips to [-8, 7].
    if (qat_symmetric_per_tensor(weight.data(), &scale, out.data(), out.size(), 1e-4f, -8.0f, 7.0f) != QAT_OK) failures++;
    // A zero level is +0.0, also for -0.125 / 0.25 = -0.5, which rounds to -0.0.
    const float expected[] = {0.0f, 0.25f, -0.25f, 0.5f, 1.75f, -2.0f, 0.0f, 0.0f};
    for (std::size_t i = 0; i < out.size(); i++)
        if (out[i] != bf16_of(expected[i])) {
            std::fprintf(stderr, "out[%zu] = %#x, want %#x\n", i, out[i], bf16_of(expected[i]));
            failures++;
        }
    if (qat_symmetric_per_tensor_backward(grad.data(), weight.data(), &scale, grad_weight.data(), &grad_scale,
                                          grad.size(), 1e-4f, -8.0f, 7.0f) != QAT_OK)
        failures++;
    // 2.0 / 0.25 = 8 is outside [-8, 7]: its gradient is masked.
    if (grad_weight[4] != 0 || grad_weight[5] != bf16_of(1.0f)) failures++;
    if (qat_set_isa(QAT_ISA_AUTO) != QAT_OK || qat_active_isa() == QAT_ISA_AUTO) failures++;
    std::printf("test_cpp (C++11, isa %d): %s\n", static_cast<int>(qat_active_isa()), failures ? "FAILED" : "ok");
    return failures != 0;
}
