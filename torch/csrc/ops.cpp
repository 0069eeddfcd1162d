// The qat-kernels C ABI as PyTorch operators (namespace qat_kernels): CPU,
// bf16, contiguous tensors; functional, out= and in-place forms. Every check
// runs before anything is written, and a failure raises a RuntimeError that
// names the argument or carries the library's status message.
#include <torch/library.h>

#include <ATen/ATen.h>

#include <climits>
#include <cstdint>
#include <string>
#include <tuple>

#include "qat_kernels.h"

namespace {

using at::Tensor;

const qat_bf16 *in(const Tensor &t) { return reinterpret_cast<const qat_bf16 *>(t.const_data_ptr<at::BFloat16>()); }
qat_bf16 *out(Tensor &t) { return reinterpret_cast<qat_bf16 *>(t.mutable_data_ptr<at::BFloat16>()); }

// A tensor the kernels can read or write: CPU, strided, contiguous, bf16.
void check_tensor(const char *op, const char *name, const Tensor &t) {
    TORCH_CHECK(t.device().is_cpu(), op, ": ", name, " must be on the CPU, not ", t.device());
    TORCH_CHECK(t.layout() == at::kStrided, op, ": ", name, " must be a strided (dense) tensor");
    TORCH_CHECK(t.scalar_type() == at::kBFloat16, op, ": ", name, " must be bfloat16, not ", t.scalar_type());
    TORCH_CHECK(t.is_contiguous(), op, ": ", name, " must be contiguous");
}

void check_numel(const char *op, const char *name, const Tensor &t, int64_t numel) {
    TORCH_CHECK(t.numel() == numel, op, ": ", name, " must have ", numel, " elements, not ", t.numel());
}

// An output given by the caller: checked like an input, and of its shape.
void check_out(const char *op, const char *name, const Tensor &t, at::IntArrayRef sizes) {
    check_tensor(op, name, t);
    TORCH_CHECK(t.sizes() == sizes, op, ": ", name, " must have shape ", sizes, ", not ", t.sizes());
}

void check_status(const char *op, int32_t status) {
    TORCH_CHECK(status == QAT_OK, op, ": ", qat_status_message(status), " (status ", status, ")");
}

// A call's shape as the C ABI takes it: units (groups; rows; per tensor, one
// row) of len elements.
struct Shape {
    int64_t units, len;
};

Shape groups_of(const char *op, const Tensor &weight, int64_t group_size) {
    TORCH_CHECK(group_size >= 1 && weight.numel() % group_size == 0, op, ": group_size ", group_size,
                " must be positive and divide weight's ", weight.numel(), " elements");
    return {weight.numel() / group_size, group_size};
}

// The library checks the width (and reports it); a value no uint32_t holds
// is passed as 0, which it rejects the same way.
uint32_t bits(int64_t bit) { return bit >= 0 && bit <= INT32_MAX ? static_cast<uint32_t>(bit) : 0; }

// The symmetric quantizers: per channel, one row per entry of the weight's
// first dimension; per tensor, one row. Both run the per-channel entry
// points.
enum Granularity { PerChannel, PerTensor };

template <Granularity G>
std::string op_name(const char *suffix) {
    return std::string(G == PerChannel ? "qat_kernels.symmetric_per_channel" : "qat_kernels.symmetric_per_tensor") +
           suffix;
}

template <Granularity G>
Shape rows_of(const char *op, const Tensor &weight) {
    if (G == PerTensor) return {1, weight.numel()};
    TORCH_CHECK(weight.dim() >= 1, op, ": weight must have at least one dimension (rows first)");
    int64_t rows = weight.size(0);
    return {rows, rows == 0 ? 0 : weight.numel() / rows};
}

// --- asymmetric per group ---------------------------------------------------

void asymmetric_checks(const char *op, const Tensor &weight, const Tensor &scale, const Tensor &offset,
                       int64_t group_size) {
    check_tensor(op, "weight", weight);
    check_tensor(op, "scale", scale);
    check_tensor(op, "offset", offset);
    Shape shape = groups_of(op, weight, group_size);
    check_numel(op, "scale", scale, shape.units);
    check_numel(op, "offset", offset, shape.units);
}

Tensor &asymmetric_per_group_out(const Tensor &weight, const Tensor &scale, const Tensor &offset, int64_t group_size,
                                 int64_t bit, double eps, double clip_val, Tensor &result) {
    const char *op = "qat_kernels.asymmetric_per_group";
    asymmetric_checks(op, weight, scale, offset, group_size);
    check_out(op, "out", result, weight.sizes());
    check_status(op, qat_asymmetric_per_group(in(weight), in(scale), in(offset), out(result), weight.numel(),
                                              group_size, bits(bit), eps, clip_val));
    return result;
}

Tensor asymmetric_per_group(const Tensor &weight, const Tensor &scale, const Tensor &offset, int64_t group_size,
                            int64_t bit, double eps, double clip_val) {
    check_tensor("qat_kernels.asymmetric_per_group", "weight", weight);
    Tensor result = at::empty_like(weight, at::MemoryFormat::Contiguous);
    return asymmetric_per_group_out(weight, scale, offset, group_size, bit, eps, clip_val, result);
}

Tensor &asymmetric_per_group_(Tensor &weight, const Tensor &scale, const Tensor &offset, int64_t group_size,
                              int64_t bit, double eps, double clip_val) {
    return asymmetric_per_group_out(weight, scale, offset, group_size, bit, eps, clip_val, weight);
}

std::tuple<Tensor &, Tensor &, Tensor &> asymmetric_per_group_backward_out(
    const Tensor &grad_output, const Tensor &weight, const Tensor &scale, const Tensor &offset, int64_t group_size,
    int64_t bit, double eps, double clip_val, Tensor &grad_weight, Tensor &grad_scale, Tensor &grad_offset) {
    const char *op = "qat_kernels.asymmetric_per_group_backward";
    asymmetric_checks(op, weight, scale, offset, group_size);
    check_out(op, "grad_output", grad_output, weight.sizes());
    check_out(op, "grad_weight", grad_weight, weight.sizes());
    check_out(op, "grad_scale", grad_scale, scale.sizes());
    check_out(op, "grad_offset", grad_offset, offset.sizes());
    check_status(op, qat_asymmetric_per_group_backward(in(grad_output), in(weight), in(scale), in(offset),
                                                       out(grad_weight), out(grad_scale), out(grad_offset),
                                                       weight.numel(), group_size, bits(bit), eps, clip_val));
    return {grad_weight, grad_scale, grad_offset};
}

std::tuple<Tensor, Tensor, Tensor> asymmetric_per_group_backward(const Tensor &grad_output, const Tensor &weight,
                                                                 const Tensor &scale, const Tensor &offset,
                                                                 int64_t group_size, int64_t bit, double eps,
                                                                 double clip_val) {
    asymmetric_checks("qat_kernels.asymmetric_per_group_backward", weight, scale, offset, group_size);
    Tensor gw = at::empty_like(weight, at::MemoryFormat::Contiguous);
    Tensor gs = at::empty_like(scale, at::MemoryFormat::Contiguous);
    Tensor go = at::empty_like(offset, at::MemoryFormat::Contiguous);
    asymmetric_per_group_backward_out(grad_output, weight, scale, offset, group_size, bit, eps, clip_val, gw, gs, go);
    return {gw, gs, go};
}

// --- symmetric per channel and per tensor ---------------------------------

// The checks of a symmetric call: weight and scale readable, one scale per
// row.
template <Granularity G>
Shape symmetric_checks(const char *op, const Tensor &weight, const Tensor &scale) {
    check_tensor(op, "weight", weight);
    check_tensor(op, "scale", scale);
    Shape shape = rows_of<G>(op, weight);
    check_numel(op, "scale", scale, shape.units);
    return shape;
}

template <Granularity G>
Tensor &symmetric_out(const Tensor &weight, const Tensor &scale, double eps, double min_v, double max_v,
                      Tensor &result) {
    std::string op = op_name<G>("");
    Shape shape = symmetric_checks<G>(op.c_str(), weight, scale);
    check_out(op.c_str(), "out", result, weight.sizes());
    check_status(op.c_str(), qat_symmetric_per_channel(in(weight), in(scale), out(result), shape.units, shape.len, eps,
                                                       min_v, max_v));
    return result;
}

template <Granularity G>
Tensor symmetric(const Tensor &weight, const Tensor &scale, double eps, double min_v, double max_v) {
    check_tensor(op_name<G>("").c_str(), "weight", weight);
    Tensor result = at::empty_like(weight, at::MemoryFormat::Contiguous);
    return symmetric_out<G>(weight, scale, eps, min_v, max_v, result);
}

template <Granularity G>
Tensor &symmetric_(Tensor &weight, const Tensor &scale, double eps, double min_v, double max_v) {
    return symmetric_out<G>(weight, scale, eps, min_v, max_v, weight);
}

template <Granularity G>
std::tuple<Tensor &, Tensor &> symmetric_backward_out(const Tensor &grad_output, const Tensor &weight,
                                                      const Tensor &scale, double eps, double min_v, double max_v,
                                                      Tensor &grad_weight, Tensor &grad_scale) {
    std::string op = op_name<G>("_backward");
    Shape shape = symmetric_checks<G>(op.c_str(), weight, scale);
    check_out(op.c_str(), "grad_output", grad_output, weight.sizes());
    check_out(op.c_str(), "grad_weight", grad_weight, weight.sizes());
    check_out(op.c_str(), "grad_scale", grad_scale, scale.sizes());
    check_status(op.c_str(), qat_symmetric_per_channel_backward(in(grad_output), in(weight), in(scale), out(grad_weight),
                                                                out(grad_scale), shape.units, shape.len, eps, min_v,
                                                                max_v));
    return {grad_weight, grad_scale};
}

template <Granularity G>
std::tuple<Tensor, Tensor> symmetric_backward(const Tensor &grad_output, const Tensor &weight, const Tensor &scale,
                                              double eps, double min_v, double max_v) {
    symmetric_checks<G>(op_name<G>("_backward").c_str(), weight, scale);
    Tensor gw = at::empty_like(weight, at::MemoryFormat::Contiguous);
    Tensor gs = at::empty_like(scale, at::MemoryFormat::Contiguous);
    symmetric_backward_out<G>(grad_output, weight, scale, eps, min_v, max_v, gw, gs);
    return {gw, gs};
}

// --- scale gradients across shards ------------------------------------------

// The weight gradient, and each row's two sums as f64 block values,
// 2 * qat_block_count(cols) per row.
template <Granularity G>
std::tuple<Tensor, Tensor> symmetric_backward_blocks(const Tensor &grad_output, const Tensor &weight,
                                                     const Tensor &scale, double eps, double min_v, double max_v) {
    std::string op = op_name<G>("_backward_blocks");
    Shape shape = symmetric_checks<G>(op.c_str(), weight, scale);
    check_tensor(op.c_str(), "grad_output", grad_output);
    check_out(op.c_str(), "grad_output", grad_output, weight.sizes());
    Tensor gw = at::empty_like(weight, at::MemoryFormat::Contiguous);
    Tensor sums = at::zeros({shape.units, 2 * static_cast<int64_t>(qat_block_count(shape.len))}, at::kDouble);
    check_status(op.c_str(), qat_symmetric_per_channel_backward_blocks(in(grad_output), in(weight), in(scale), out(gw),
                                                                       sums.mutable_data_ptr<double>(), shape.units,
                                                                       shape.len, eps, min_v, max_v));
    return {gw, sums};
}

// The scale gradients one call over rows x cols weights gives, from the
// rows' block values (combined across shards).
Tensor symmetric_finish(const Tensor &block_sums, const Tensor &scale, int64_t cols, double eps, double min_v,
                        double max_v) {
    const char *op = "qat_kernels.symmetric_finish";
    check_tensor(op, "scale", scale);
    TORCH_CHECK(block_sums.device().is_cpu() && block_sums.scalar_type() == at::kDouble && block_sums.is_contiguous(),
                op, ": block_sums must be a contiguous float64 CPU tensor");
    TORCH_CHECK(cols >= 0, op, ": cols must not be negative");
    Shape shape{scale.numel(), cols};
    check_numel(op, "block_sums", block_sums, shape.units * 2 * static_cast<int64_t>(qat_block_count(shape.len)));
    Tensor gs = at::empty_like(scale, at::MemoryFormat::Contiguous);
    check_status(op, qat_symmetric_per_channel_finish(block_sums.const_data_ptr<double>(), in(scale), out(gs),
                                                      shape.units, shape.len, eps, min_v, max_v));
    return gs;
}

// --- calibration ---------------------------------------------------------------

int32_t mode_of(int64_t mode) { return mode >= 0 && mode <= INT32_MAX ? static_cast<int32_t>(mode) : -1; }

std::tuple<Tensor, Tensor> asymmetric_per_group_calibrate(const Tensor &weight, int64_t group_size, int64_t bit,
                                                          double eps, double clip_val, int64_t mode) {
    const char *op = "qat_kernels.asymmetric_per_group_calibrate";
    check_tensor(op, "weight", weight);
    Shape shape = groups_of(op, weight, group_size);
    Tensor scale = at::empty({shape.units}, weight.options());
    Tensor offset = at::empty({shape.units}, weight.options());
    check_status(op, qat_asymmetric_per_group_calibrate(in(weight), out(scale), out(offset), weight.numel(),
                                                        group_size, bits(bit), eps, clip_val, mode_of(mode)));
    return {scale, offset};
}

template <Granularity G>
Tensor symmetric_calibrate(const Tensor &weight, double eps, double min_v, double max_v, int64_t mode) {
    std::string op = op_name<G>("_calibrate");
    check_tensor(op.c_str(), "weight", weight);
    Shape shape = rows_of<G>(op.c_str(), weight);
    Tensor scale = at::empty({shape.units}, weight.options());
    check_status(op.c_str(), qat_symmetric_per_channel_calibrate(in(weight), out(scale), shape.units, shape.len, eps,
                                                                 min_v, max_v, mode_of(mode)));
    return scale;
}

int64_t block_count(int64_t len) { return len < 0 ? 0 : static_cast<int64_t>(qat_block_count(len)); }

std::string version() { return qat_version(); }

}  // namespace

TORCH_LIBRARY(qat_kernels, m) {
    const char *asym = "Tensor weight, Tensor scale, Tensor offset, int group_size, int bit, float eps, float clip_val";
    const char *sym = "Tensor weight, Tensor scale, float eps, float min_v, float max_v";
    auto def = [&](const std::string &schema) { m.def(schema.c_str()); };
    def(std::string("asymmetric_per_group(") + asym + ") -> Tensor");
    def(std::string("asymmetric_per_group.out(") + asym + ", *, Tensor(a!) out) -> Tensor(a!)");
    def("asymmetric_per_group_(Tensor(a!) weight, Tensor scale, Tensor offset, int group_size, int bit, float eps, "
        "float clip_val) -> Tensor(a!)");
    def(std::string("asymmetric_per_group_backward(Tensor grad_output, ") + asym + ") -> (Tensor, Tensor, Tensor)");
    def(std::string("asymmetric_per_group_backward.out(Tensor grad_output, ") + asym +
        ", *, Tensor(a!) grad_weight, Tensor(b!) grad_scale, Tensor(c!) grad_offset) -> "
        "(Tensor(a!), Tensor(b!), Tensor(c!))");
    for (const char *name : {"symmetric_per_channel", "symmetric_per_tensor"}) {
        std::string n(name);
        def(n + "(" + sym + ") -> Tensor");
        def(n + ".out(" + sym + ", *, Tensor(a!) out) -> Tensor(a!)");
        def(n + "_(Tensor(a!) weight, Tensor scale, float eps, float min_v, float max_v) -> Tensor(a!)");
        def(n + "_backward(Tensor grad_output, " + sym + ") -> (Tensor, Tensor)");
        def(n + "_backward.out(Tensor grad_output, " + sym +
            ", *, Tensor(a!) grad_weight, Tensor(b!) grad_scale) -> (Tensor(a!), Tensor(b!))");
    }
    def("symmetric_per_tensor_backward_blocks(Tensor grad_output, " + std::string(sym) + ") -> (Tensor, Tensor)");
    def("symmetric_per_channel_backward_blocks(Tensor grad_output, " + std::string(sym) + ") -> (Tensor, Tensor)");
    def("symmetric_finish(Tensor block_sums, Tensor scale, int cols, float eps, float min_v, float max_v) -> Tensor");
    def("asymmetric_per_group_calibrate(Tensor weight, int group_size, int bit, float eps, float clip_val, "
        "int mode) -> (Tensor, Tensor)");
    def("symmetric_per_channel_calibrate(Tensor weight, float eps, float min_v, float max_v, int mode) -> Tensor");
    def("symmetric_per_tensor_calibrate(Tensor weight, float eps, float min_v, float max_v, int mode) -> Tensor");
    m.def("block_count(int len) -> int", &block_count);
    m.def("version() -> str", &version);
}

// The kernels for CPU tensors; sparse CPU tensors reach the same functions,
// whose checks then name the argument that is not dense.
#define QAT_KERNELS_IMPL(key)                                                                 \
    TORCH_LIBRARY_IMPL(qat_kernels, key, m) { register_kernels(m); }

template <Granularity G>
void register_symmetric(torch::Library &m, const std::string &name) {
    m.impl((name).c_str(), &symmetric<G>);
    m.impl((name + ".out").c_str(), &symmetric_out<G>);
    m.impl((name + "_").c_str(), &symmetric_<G>);
    m.impl((name + "_backward").c_str(), &symmetric_backward<G>);
    m.impl((name + "_backward.out").c_str(), &symmetric_backward_out<G>);
    m.impl((name + "_backward_blocks").c_str(), &symmetric_backward_blocks<G>);
    m.impl((name + "_calibrate").c_str(), &symmetric_calibrate<G>);
}

static void register_kernels(torch::Library &m) {
    m.impl("asymmetric_per_group", &asymmetric_per_group);
    m.impl("asymmetric_per_group.out", &asymmetric_per_group_out);
    m.impl("asymmetric_per_group_", &asymmetric_per_group_);
    m.impl("asymmetric_per_group_backward", &asymmetric_per_group_backward);
    m.impl("asymmetric_per_group_backward.out", &asymmetric_per_group_backward_out);
    register_symmetric<PerChannel>(m, "symmetric_per_channel");
    register_symmetric<PerTensor>(m, "symmetric_per_tensor");
    m.impl("symmetric_finish", &symmetric_finish);
    m.impl("asymmetric_per_group_calibrate", &asymmetric_per_group_calibrate);
}

QAT_KERNELS_IMPL(CPU)
QAT_KERNELS_IMPL(SparseCPU)
