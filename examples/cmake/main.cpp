// qat-kernels from C++17: symmetric per-channel fake quantization of a small
// matrix and its backward pass, with std::vector buffers.
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <qat_kernels.h>

namespace {

void check(std::int32_t status, const char *what) {
    if (status != QAT_OK) throw std::runtime_error(std::string(what) + ": " + qat_status_message(status));
}

std::vector<qat_bf16> to_bf16(const std::vector<float> &values) {
    std::vector<qat_bf16> out;
    out.reserve(values.size());
    for (float v : values) out.push_back(qat_bf16_from_float(v));
    return out;
}

}  // namespace

int main() try {
    constexpr std::size_t rows = 4, cols = 64;
    std::vector<float> weight_f(rows * cols);
    for (std::size_t i = 0; i < weight_f.size(); i++) weight_f[i] = 0.02f * std::cos(0.37f * static_cast<float>(i));
    const auto weight = to_bf16(weight_f);
    // 8-bit symmetric: one scale per row, a little over max |w| / 127.
    const auto scale = to_bf16(std::vector<float>(rows, 0.021f / 127));
    std::vector<qat_bf16> out(rows * cols);
    check(qat_symmetric_per_channel(weight.data(), scale.data(), out.data(), rows, cols, 1e-8f, -128.0f, 127.0f),
          "forward");

    float worst = 0;
    for (std::size_t i = 0; i < out.size(); i++)
        worst = std::fmax(worst, std::fabs(qat_bf16_to_float(out[i]) - qat_bf16_to_float(weight[i])));

    const auto grad_output = to_bf16(std::vector<float>(rows * cols, 1.0f));
    std::vector<qat_bf16> grad_weight(rows * cols), grad_scale(rows);
    check(qat_symmetric_per_channel_backward(grad_output.data(), weight.data(), scale.data(), grad_weight.data(),
                                             grad_scale.data(), rows, cols, 1e-8f, -128.0f, 127.0f),
          "backward");

    // Half a quantization step, plus the bf16 rounding of a result of at most 0.02.
    const float bound = 0.5f * qat_bf16_to_float(scale[0]) + std::ldexp(0.02f, -8);
    std::printf("qat-kernels %s: %zu x %zu, largest fake-quantization error %.7f (bound %.7f)\n", qat_version(),
                rows, cols, worst, bound);
    std::printf("grad_scale of row 0: %+.4f\n", qat_bf16_to_float(grad_scale[0]));
    return worst <= bound ? 0 : 1;
} catch (const std::exception &e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
}
