// The qat-kernels C ABI as PyTorch operators (namespace qat_kernels): CPU,
// contiguous tensors, values of bfloat16, float32 or float16 with bfloat16
// (or float32) scales; functional, out= and in-place forms. Every check
// runs before anything is written, and a failure raises a RuntimeError that
// names the argument or carries the library's status message.
//
// Every quantizer has one shape, units (groups; rows; per tensor, one row)
// of len elements. The library splits each call across PyTorch's intra-op
// threads itself (torch_parallel_for, set as its thread pool when the
// extension loads), with the bits of one call for every thread count.
#include <torch/library.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "qat_kernels.h"

namespace {

using at::Tensor;

const qat_bf16 *in(const Tensor &t) { return reinterpret_cast<const qat_bf16 *>(t.const_data_ptr<at::BFloat16>()); }
qat_bf16 *out(Tensor &t) { return reinterpret_cast<qat_bf16 *>(t.mutable_data_ptr<at::BFloat16>()); }

// The name Python gives a dtype.
const char *dtype_name(at::ScalarType dtype) {
    switch (dtype) {
    case at::kBFloat16: return "bfloat16";
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kByte: return "uint8";
    case at::kChar: return "int8";
    case at::kInt: return "int32";
    default: return c10::toString(dtype);
    }
}

// A tensor the kernels can read or write: CPU, strided, contiguous, of `dtype`.
void check_tensor(const char *op, const char *name, const Tensor &t, at::ScalarType dtype = at::kBFloat16) {
    TORCH_CHECK(t.device().is_cpu(), op, ": ", name, " must be on the CPU, not ", t.device());
    TORCH_CHECK(t.layout() == at::kStrided, op, ": ", name, " must be a strided (dense) tensor");
    TORCH_CHECK(t.scalar_type() == dtype, op, ": ", name, " must be ", dtype_name(dtype), ", not ",
                dtype_name(t.scalar_type()));
    TORCH_CHECK(t.is_contiguous(), op, ": ", name, " must be contiguous");
    // The library refuses a misaligned buffer too; here the message names
    // the tensor's element size.
    TORCH_CHECK(t.numel() == 0 || reinterpret_cast<uintptr_t>(t.const_data_ptr()) % t.element_size() == 0, op, ": ",
                name, " must be aligned to its element size (", t.element_size(), " bytes)");
}

void check_numel(const char *op, const char *name, const Tensor &t, int64_t numel) {
    TORCH_CHECK(t.numel() == numel, op, ": ", name, " must have ", numel, " elements, not ", t.numel());
}

// One parameter per unit: a 1-D tensor of `units` elements.
void check_per_unit(const char *op, const char *name, const Tensor &t, int64_t units) {
    TORCH_CHECK(t.dim() == 1 && t.numel() == units, op, ": ", name, " must have shape (", units, "), not ",
                t.sizes());
}

// An output given by the caller: checked like an input, and of its shape.
void check_out(const char *op, const char *name, const Tensor &t, at::IntArrayRef sizes,
               at::ScalarType dtype = at::kBFloat16) {
    check_tensor(op, name, t, dtype);
    TORCH_CHECK(t.sizes() == sizes, op, ": ", name, " must have shape ", sizes, ", not ", t.sizes());
}

// The detail of this thread's last refused call: the library's refusal
// handler writes it on the refusing thread, which checks every argument
// before a call splits across threads.
thread_local qat_refusal last_refusal{};
qat_refusal_handler previous_handler = nullptr;

extern "C" void keep_refusal(const qat_refusal *refusal) {
    last_refusal = *refusal;
    if (previous_handler != nullptr) previous_handler(refusal);
}

// Installed when the extension loads, chained to any handler set before.
const bool handler_installed = [] {
    previous_handler = qat_set_refusal_handler(keep_refusal);
    return true;
}();

// A refused call's error names the argument and the rule it broke, from the
// handler's detail ("bit is outside 2..=8"), or the status's class if
// another handler has since replaced this one.
void check_status(const char *op, int32_t status) {
    if (status == QAT_OK) return;
    qat_refusal refusal = last_refusal;
    last_refusal = qat_refusal{};
    if (refusal.status != status) {
        TORCH_CHECK(false, op, ": ", qat_status_message(status), " (status ", status, ")");
    }
    char detail[256];
    qat_refusal_message(&refusal, detail, sizeof detail);
    TORCH_CHECK(false, op, ": ", detail, " (", qat_status_message(status), "; status ", status, ")");
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

// --- values: bfloat16, float32 or float16 ---------------------------------------

// The training operators take values (weights, activations, their
// gradients) of bfloat16, float32 or float16, all of one dtype, which the
// library reads and writes as they are (its _dtype forms); scales and
// offsets are bfloat16 or float32 (check_param). A backward pass's scale and
// offset gradients are bfloat16 for bfloat16 values, else float32.
bool is_values(const Tensor &t) {
    return t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kFloat || t.scalar_type() == at::kHalf;
}

void check_values(const char *op, const char *name, const Tensor &t) {
    TORCH_CHECK(is_values(t), op, ": ", name, " must be bfloat16, float32 or float16, not ",
                dtype_name(t.scalar_type()));
    check_tensor(op, name, t, t.scalar_type());
}

// A learned parameter (scale, offset) of a training or export operator:
// bfloat16, or float32, which is read as its bfloat16 rounding (as
// .to(torch.bfloat16) rounds) so that a float32 parameter takes its
// gradient in float32 (autograd would round it to a bfloat16 input's dtype).
void check_param(const char *op, const char *name, const Tensor &t) {
    TORCH_CHECK(t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kFloat, op, ": ", name,
                " must be bfloat16 or float32, not ", dtype_name(t.scalar_type()));
    check_tensor(op, name, t, t.scalar_type());
}

// A checked parameter as bfloat16.
Tensor bf16(const Tensor &t) { return t.scalar_type() == at::kBFloat16 ? t : t.to(at::kBFloat16); }

// An output or second input of the values' dtype and shape.
void check_like(const char *op, const char *name, const Tensor &t, const Tensor &like) {
    check_out(op, name, t, like.sizes(), like.scalar_type());
}

// The library's element type of checked values.
int32_t dtype_of(const Tensor &values) {
    switch (values.scalar_type()) {
    case at::kFloat: return QAT_DTYPE_F32;
    case at::kHalf: return QAT_DTYPE_F16;
    default: return QAT_DTYPE_BF16;
    }
}

// The scale and offset gradients' dtype for these values.
at::ScalarType grad_dtype(const Tensor &values) {
    return values.scalar_type() == at::kBFloat16 ? at::kBFloat16 : at::kFloat;
}

// Every call splits itself across PyTorch's intra-op threads: the library
// calls this for the tasks of a call large enough to split (whole groups,
// rows or tokens, or per tensor whole blocks), which give the bits of one
// call whatever the thread count. at::parallel_for runs them on this thread
// at one thread and inside a parallel region.
extern "C" void torch_parallel_for(void *, size_t count, qat_task task, void *context) {
    at::parallel_for(0, static_cast<int64_t>(count), 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; i++) task(context, static_cast<size_t>(i));
    });
}

const qat_thread_pool torch_pool{torch_parallel_for, nullptr};

// Set when the extension loads (its library is its own copy).
const bool pool_installed = [] {
    qat_set_thread_pool(&torch_pool);
    return true;
}();

// --- asymmetric per group ---------------------------------------------------

Shape asymmetric_checks(const char *op, const Tensor &weight, const Tensor &scale, const Tensor &offset,
                        int64_t group_size) {
    check_values(op, "weight", weight);
    check_param(op, "scale", scale);
    check_param(op, "offset", offset);
    Shape shape = groups_of(op, weight, group_size);
    check_per_unit(op, "scale", scale, shape.units);
    check_per_unit(op, "offset", offset, shape.units);
    return shape;
}

Tensor &asymmetric_per_group_out(const Tensor &weight, const Tensor &scale, const Tensor &offset, int64_t group_size,
                                 int64_t bit, double eps, double clip_val, Tensor &result) {
    const char *op = "qat_kernels.asymmetric_per_group";
    Shape shape = asymmetric_checks(op, weight, scale, offset, group_size);
    check_like(op, "out", result, weight);
    check_status(op, qat_asymmetric_per_group_dtype(dtype_of(weight), weight.const_data_ptr(), in(bf16(scale)), in(bf16(offset)),
                                                    result.mutable_data_ptr(), weight.numel(), shape.len, bits(bit),
                                                    eps, clip_val));
    return result;
}

Tensor asymmetric_per_group(const Tensor &weight, const Tensor &scale, const Tensor &offset, int64_t group_size,
                            int64_t bit, double eps, double clip_val) {
    check_values("qat_kernels.asymmetric_per_group", "weight", weight);
    Tensor result = at::empty_like(weight, at::MemoryFormat::Contiguous);
    return asymmetric_per_group_out(weight, scale, offset, group_size, bit, eps, clip_val, result);
}

std::tuple<Tensor &, Tensor &, Tensor &> asymmetric_per_group_backward_out(
    const Tensor &grad_output, const Tensor &weight, const Tensor &scale, const Tensor &offset, int64_t group_size,
    int64_t bit, double eps, double clip_val, Tensor &grad_weight, Tensor &grad_scale, Tensor &grad_offset) {
    const char *op = "qat_kernels.asymmetric_per_group_backward";
    Shape shape = asymmetric_checks(op, weight, scale, offset, group_size);
    check_like(op, "grad_output", grad_output, weight);
    check_like(op, "grad_weight", grad_weight, weight);
    check_out(op, "grad_scale", grad_scale, scale.sizes(), grad_dtype(weight));
    check_out(op, "grad_offset", grad_offset, offset.sizes(), grad_dtype(weight));
    check_status(op, qat_asymmetric_per_group_backward_dtype(
                         dtype_of(weight), grad_output.const_data_ptr(), weight.const_data_ptr(), in(bf16(scale)),
                         in(bf16(offset)), grad_weight.mutable_data_ptr(), grad_scale.mutable_data_ptr(),
                         grad_offset.mutable_data_ptr(), weight.numel(), shape.len, bits(bit), eps, clip_val));
    return {grad_weight, grad_scale, grad_offset};
}

std::tuple<Tensor, Tensor, Tensor> asymmetric_per_group_backward(const Tensor &grad_output, const Tensor &weight,
                                                                 const Tensor &scale, const Tensor &offset,
                                                                 int64_t group_size, int64_t bit, double eps,
                                                                 double clip_val) {
    asymmetric_checks("qat_kernels.asymmetric_per_group_backward", weight, scale, offset, group_size);
    Tensor gw = at::empty_like(weight, at::MemoryFormat::Contiguous);
    Tensor gs = at::empty(scale.sizes(), scale.options().dtype(grad_dtype(weight)));
    Tensor go = at::empty(offset.sizes(), offset.options().dtype(grad_dtype(weight)));
    asymmetric_per_group_backward_out(grad_output, weight, scale, offset, group_size, bit, eps, clip_val, gw, gs, go);
    return {gw, gs, go};
}

// --- symmetric per channel and per tensor -----------------------------------

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

// The checks of a symmetric call: weight and scale readable, one scale per
// row.
template <Granularity G>
Shape symmetric_checks(const char *op, const Tensor &weight, const Tensor &scale) {
    check_values(op, "weight", weight);
    check_param(op, "scale", scale);
    Shape shape = rows_of<G>(op, weight);
    check_per_unit(op, "scale", scale, shape.units);
    return shape;
}

template <Granularity G>
Tensor &symmetric_out(const Tensor &weight, const Tensor &scale, double eps, double min_v, double max_v,
                      Tensor &result) {
    std::string name = op_name<G>("");
    const char *op = name.c_str();
    Shape shape = symmetric_checks<G>(op, weight, scale);
    check_like(op, "out", result, weight);
    check_status(op, qat_symmetric_per_channel_dtype(dtype_of(weight), weight.const_data_ptr(), in(bf16(scale)),
                                                     result.mutable_data_ptr(), shape.units, shape.len, eps, min_v,
                                                     max_v));
    return result;
}

template <Granularity G>
Tensor symmetric(const Tensor &weight, const Tensor &scale, double eps, double min_v, double max_v) {
    check_values(op_name<G>("").c_str(), "weight", weight);
    Tensor result = at::empty_like(weight, at::MemoryFormat::Contiguous);
    return symmetric_out<G>(weight, scale, eps, min_v, max_v, result);
}

template <Granularity G>
std::tuple<Tensor &, Tensor &> symmetric_backward_out(const Tensor &grad_output, const Tensor &weight,
                                                      const Tensor &scale, double eps, double min_v, double max_v,
                                                      Tensor &grad_weight, Tensor &grad_scale) {
    std::string name = op_name<G>("_backward");
    const char *op = name.c_str();
    Shape shape = symmetric_checks<G>(op, weight, scale);
    check_like(op, "grad_output", grad_output, weight);
    check_like(op, "grad_weight", grad_weight, weight);
    check_out(op, "grad_scale", grad_scale, scale.sizes(), grad_dtype(weight));
    check_status(op, qat_symmetric_per_channel_backward_dtype(
                         dtype_of(weight), grad_output.const_data_ptr(), weight.const_data_ptr(), in(bf16(scale)),
                         grad_weight.mutable_data_ptr(), grad_scale.mutable_data_ptr(), shape.units, shape.len, eps,
                         min_v, max_v));
    return {grad_weight, grad_scale};
}

template <Granularity G>
std::tuple<Tensor, Tensor> symmetric_backward(const Tensor &grad_output, const Tensor &weight, const Tensor &scale,
                                              double eps, double min_v, double max_v) {
    symmetric_checks<G>(op_name<G>("_backward").c_str(), weight, scale);
    Tensor gw = at::empty_like(weight, at::MemoryFormat::Contiguous);
    Tensor gs = at::empty(scale.sizes(), scale.options().dtype(grad_dtype(weight)));
    symmetric_backward_out<G>(grad_output, weight, scale, eps, min_v, max_v, gw, gs);
    return {gw, gs};
}

// --- scale gradients across shards ------------------------------------------

// The weight gradient, and each row's two sums as f64 block values,
// 2 * qat_block_count(cols) per row.
template <Granularity G>
std::tuple<Tensor, Tensor> symmetric_backward_blocks(const Tensor &grad_output, const Tensor &weight,
                                                     const Tensor &scale, double eps, double min_v, double max_v) {
    std::string name = op_name<G>("_backward_blocks");
    const char *op = name.c_str();
    Shape shape = symmetric_checks<G>(op, weight, scale);
    check_like(op, "grad_output", grad_output, weight);
    Tensor gw = at::empty_like(weight, at::MemoryFormat::Contiguous);
    Tensor sums = at::zeros({shape.units, 2 * static_cast<int64_t>(qat_block_count(shape.len))}, at::kDouble);
    check_status(op, qat_symmetric_per_channel_backward_blocks_dtype(
                         dtype_of(weight), grad_output.const_data_ptr(), weight.const_data_ptr(), in(bf16(scale)),
                         gw.mutable_data_ptr(), sums.mutable_data_ptr<double>(), shape.units, shape.len, eps, min_v,
                         max_v));
    return {gw, sums};
}

// The scale gradients one call over rows x cols weights gives, from the
// rows' block values (combined across shards).
Tensor symmetric_finish(const Tensor &block_sums, const Tensor &scale, int64_t cols, double eps, double min_v,
                        double max_v) {
    const char *op = "qat_kernels.symmetric_finish";
    check_tensor(op, "scale", scale);
    check_tensor(op, "block_sums", block_sums, at::kDouble);
    TORCH_CHECK(cols >= 0, op, ": cols must not be negative");
    Shape shape{scale.numel(), cols};
    check_numel(op, "block_sums", block_sums, shape.units * 2 * static_cast<int64_t>(qat_block_count(shape.len)));
    Tensor gs = at::empty_like(scale, at::MemoryFormat::Contiguous);
    check_status(op, qat_symmetric_per_channel_finish(block_sums.const_data_ptr<double>(), in(scale), out(gs),
                                                      shape.units, shape.len, eps, min_v, max_v));
    return gs;
}

// --- export: integer codes, their values, packing ------------------------------

Tensor asymmetric_per_group_quantize(const Tensor &weight, const Tensor &scale, const Tensor &offset,
                                     int64_t group_size, int64_t bit, double eps, double clip_val) {
    const char *op = "qat_kernels.asymmetric_per_group_quantize";
    asymmetric_checks(op, weight, scale, offset, group_size);
    Tensor codes = at::empty(weight.sizes(), weight.options().dtype(at::kByte));
    check_status(op, qat_asymmetric_per_group_quantize_dtype(dtype_of(weight), weight.const_data_ptr(), in(bf16(scale)),
                                                             in(bf16(offset)), codes.mutable_data_ptr<uint8_t>(),
                                                             weight.numel(), group_size, bits(bit), eps, clip_val));
    return codes;
}

// The values of dequantized codes: bfloat16 by default, or float32 or
// float16 (the forward pass's values on weights of that dtype).
Tensor values_for(const char *op, const Tensor &codes, std::optional<at::ScalarType> dtype) {
    at::ScalarType type = dtype.value_or(at::kBFloat16);
    TORCH_CHECK(type == at::kBFloat16 || type == at::kFloat || type == at::kHalf, op,
                ": dtype must be bfloat16, float32 or float16, not ", dtype_name(type));
    return at::empty(codes.sizes(), codes.options().dtype(type));
}

Tensor asymmetric_per_group_dequantize(const Tensor &codes, const Tensor &scale, const Tensor &offset,
                                       int64_t group_size, int64_t bit, double eps, double clip_val,
                                       std::optional<at::ScalarType> dtype) {
    const char *op = "qat_kernels.asymmetric_per_group_dequantize";
    check_tensor(op, "codes", codes, at::kByte);
    check_tensor(op, "scale", scale);
    check_tensor(op, "offset", offset);
    Shape shape = groups_of(op, codes, group_size);
    check_numel(op, "scale", scale, shape.units);
    check_numel(op, "offset", offset, shape.units);
    Tensor result = values_for(op, codes, dtype);
    check_status(op, qat_asymmetric_per_group_dequantize_dtype(dtype_of(result), codes.const_data_ptr<uint8_t>(),
                                                               in(scale), in(offset), result.mutable_data_ptr(),
                                                               codes.numel(), group_size, bits(bit), eps, clip_val));
    return result;
}

template <Granularity G>
Tensor symmetric_quantize(const Tensor &weight, const Tensor &scale, double eps, double min_v, double max_v) {
    std::string name = op_name<G>("_quantize");
    const char *op = name.c_str();
    Shape shape = symmetric_checks<G>(op, weight, scale);
    Tensor codes = at::empty(weight.sizes(), weight.options().dtype(at::kChar));
    check_status(op, qat_symmetric_per_channel_quantize_dtype(dtype_of(weight), weight.const_data_ptr(), in(bf16(scale)),
                                                              codes.mutable_data_ptr<int8_t>(), shape.units,
                                                              shape.len, eps, min_v, max_v));
    return codes;
}

template <Granularity G>
Tensor symmetric_dequantize(const Tensor &codes, const Tensor &scale, double eps, double min_v, double max_v,
                            std::optional<at::ScalarType> dtype) {
    std::string name = op_name<G>("_dequantize");
    const char *op = name.c_str();
    check_tensor(op, "codes", codes, at::kChar);
    check_tensor(op, "scale", scale);
    Shape shape = rows_of<G>(op, codes);
    check_numel(op, "scale", scale, shape.units);
    Tensor result = values_for(op, codes, dtype);
    check_status(op, qat_symmetric_per_channel_dequantize_dtype(dtype_of(result), codes.const_data_ptr<int8_t>(),
                                                                in(scale), result.mutable_data_ptr(), shape.units,
                                                                shape.len, eps, min_v, max_v));
    return result;
}

// Codes (uint8, or int8 for the symmetric quantizers' signed codes) packed
// densely at 1, 2, 4 or 8 bits into a 1-D uint8 tensor.
Tensor pack_codes(const Tensor &codes, int64_t bit) {
    const char *op = "qat_kernels.pack_codes";
    TORCH_CHECK(codes.scalar_type() == at::kByte || codes.scalar_type() == at::kChar, op,
                ": codes must be uint8 or int8, not ", codes.scalar_type());
    check_tensor(op, "codes", codes, codes.scalar_type());
    size_t count = static_cast<size_t>(codes.numel());
    size_t size = qat_packed_size(count, bits(bit));
    TORCH_CHECK(size > 0 || count == 0, op, ": bit ", bit, " must be 1, 2, 4 or 8");
    Tensor packed = at::empty({static_cast<int64_t>(size)}, codes.options().dtype(at::kByte));
    uint8_t *p = packed.mutable_data_ptr<uint8_t>();
    check_status(op, codes.scalar_type() == at::kByte
                         ? qat_pack_codes(codes.const_data_ptr<uint8_t>(), count, bits(bit), p)
                         : qat_pack_signed_codes(codes.const_data_ptr<int8_t>(), count, bits(bit), p));
    return packed;
}

// The codes pack_codes packed: `count` of them, signed (int8) or not (uint8).
Tensor unpack_codes(const Tensor &packed, int64_t count, int64_t bit, bool is_signed) {
    const char *op = "qat_kernels.unpack_codes";
    check_tensor(op, "packed", packed, at::kByte);
    TORCH_CHECK(count >= 0, op, ": count must not be negative");
    size_t size = qat_packed_size(static_cast<size_t>(count), bits(bit));
    TORCH_CHECK(size > 0 || count == 0, op, ": bit ", bit, " must be 1, 2, 4 or 8");
    check_numel(op, "packed", packed, static_cast<int64_t>(size));
    Tensor codes = at::empty({count}, packed.options().dtype(is_signed ? at::kChar : at::kByte));
    const uint8_t *p = packed.const_data_ptr<uint8_t>();
    check_status(op, is_signed ? qat_unpack_signed_codes(p, count, bits(bit), codes.mutable_data_ptr<int8_t>())
                               : qat_unpack_codes(p, count, bits(bit), codes.mutable_data_ptr<uint8_t>()));
    return codes;
}

// --- calibration ---------------------------------------------------------------

int32_t mode_of(int64_t mode) { return mode >= 0 && mode <= INT32_MAX ? static_cast<int32_t>(mode) : -1; }

std::tuple<Tensor, Tensor> asymmetric_per_group_calibrate(const Tensor &weight, int64_t group_size, int64_t bit,
                                                          double eps, double clip_val, int64_t mode) {
    const char *op = "qat_kernels.asymmetric_per_group_calibrate";
    check_values(op, "weight", weight);
    Shape shape = groups_of(op, weight, group_size);
    Tensor scale = at::empty({shape.units}, weight.options().dtype(at::kBFloat16));
    Tensor offset = at::empty({shape.units}, weight.options().dtype(at::kBFloat16));
    check_status(op, qat_asymmetric_per_group_calibrate_dtype(dtype_of(weight), weight.const_data_ptr(), out(scale),
                                                              out(offset), weight.numel(), group_size, bits(bit), eps,
                                                              clip_val, mode_of(mode)));
    return {scale, offset};
}

template <Granularity G>
Tensor symmetric_calibrate(const Tensor &weight, double eps, double min_v, double max_v, int64_t mode) {
    std::string name = op_name<G>("_calibrate");
    const char *op = name.c_str();
    check_values(op, "weight", weight);
    Shape shape = rows_of<G>(op, weight);
    Tensor scale = at::empty({shape.units}, weight.options().dtype(at::kBFloat16));
    check_status(op, qat_symmetric_per_channel_calibrate_dtype(dtype_of(weight), weight.const_data_ptr(), out(scale),
                                                               shape.units, shape.len, eps, min_v, max_v,
                                                               mode_of(mode)));
    return scale;
}

// --- per-token activations -----------------------------------------------------

// Tokens: every dimension but the last; a token's values: the last.
Shape tokens_of(const char *op, const Tensor &input) {
    TORCH_CHECK(input.dim() >= 1, op, ": input must have at least one dimension (a token's values last)");
    return {c10::multiply_integers(input.sizes().slice(0, input.dim() - 1)), input.size(-1)};
}

// Dynamic per-token fake quantization: the values, and each token's f32
// scale and int32 zero point (shaped as the input without its last
// dimension).
std::tuple<Tensor, Tensor, Tensor> per_token(const Tensor &input, int64_t bit, double eps, bool symmetric) {
    const char *op = "qat_kernels.per_token";
    check_values(op, "input", input);
    Shape shape = tokens_of(op, input);
    auto token_sizes = input.sizes().slice(0, input.dim() - 1);
    Tensor result = at::empty_like(input, at::MemoryFormat::Contiguous);
    Tensor scale = at::empty(token_sizes, input.options().dtype(at::kFloat));
    Tensor zero_point = at::empty(token_sizes, input.options().dtype(at::kInt));
    float *s = scale.mutable_data_ptr<float>();
    int32_t *z = zero_point.mutable_data_ptr<int32_t>();
    auto call = symmetric ? qat_per_token_symmetric_dtype : qat_per_token_asymmetric_dtype;
    check_status(op, call(dtype_of(input), input.const_data_ptr(), result.mutable_data_ptr(), s, z, shape.units,
                          shape.len, bits(bit), static_cast<float>(eps)));
    return {result, scale, zero_point};
}

Tensor per_token_backward(const Tensor &grad_output, const Tensor &input, const Tensor &scale,
                          const Tensor &zero_point, int64_t bit) {
    const char *op = "qat_kernels.per_token_backward";
    check_values(op, "input", input);
    check_like(op, "grad_output", grad_output, input);
    Shape shape = tokens_of(op, input);
    check_tensor(op, "scale", scale, at::kFloat);
    check_tensor(op, "zero_point", zero_point, at::kInt);
    check_numel(op, "scale", scale, shape.units);
    check_numel(op, "zero_point", zero_point, shape.units);
    Tensor grad_input = at::empty_like(input, at::MemoryFormat::Contiguous);
    const float *s = scale.const_data_ptr<float>();
    const int32_t *z = zero_point.const_data_ptr<int32_t>();
    check_status(op, qat_per_token_backward_dtype(dtype_of(input), grad_output.const_data_ptr(),
                                                  input.const_data_ptr(), s, z, grad_input.mutable_data_ptr(),
                                                  shape.units, shape.len, bits(bit)));
    return grad_input;
}

int64_t block_count(int64_t len) { return len < 0 ? 0 : static_cast<int64_t>(qat_block_count(len)); }

std::string version() { return qat_version(); }

}  // namespace

TORCH_LIBRARY(qat_kernels, m) {
    const char *asym = "Tensor weight, Tensor scale, Tensor offset, int group_size, int bit, float eps, float clip_val";
    const char *sym = "Tensor weight, Tensor scale, float eps, float min_v, float max_v";
    auto def = [&](const std::string &schema) { m.def(schema.c_str()); };
    def(std::string("asymmetric_per_group(") + asym + ") -> Tensor");
    // The out= and in-place forms return nothing: PyTorch functionalizes (so
    // compiles and exports) only custom operators that return no alias of
    // an argument.
    def(std::string("asymmetric_per_group.out(") + asym + ", *, Tensor(a!) out) -> ()");
    def("asymmetric_per_group_(Tensor(a!) weight, Tensor scale, Tensor offset, int group_size, int bit, float eps, "
        "float clip_val) -> ()");
    def(std::string("asymmetric_per_group_backward(Tensor grad_output, ") + asym + ") -> (Tensor, Tensor, Tensor)");
    def(std::string("asymmetric_per_group_backward.out(Tensor grad_output, ") + asym +
        ", *, Tensor(a!) grad_weight, Tensor(b!) grad_scale, Tensor(c!) grad_offset) -> ()");
    def(std::string("asymmetric_per_group_quantize(") + asym + ") -> Tensor");
    def("asymmetric_per_group_dequantize(Tensor codes, Tensor scale, Tensor offset, int group_size, int bit, "
        "float eps, float clip_val, ScalarType? dtype=None) -> Tensor");
    for (const char *name : {"symmetric_per_channel", "symmetric_per_tensor"}) {
        std::string n(name);
        def(n + "(" + sym + ") -> Tensor");
        def(n + ".out(" + sym + ", *, Tensor(a!) out) -> ()");
        def(n + "_(Tensor(a!) weight, Tensor scale, float eps, float min_v, float max_v) -> ()");
        def(n + "_backward(Tensor grad_output, " + sym + ") -> (Tensor, Tensor)");
        def(n + "_backward.out(Tensor grad_output, " + sym +
            ", *, Tensor(a!) grad_weight, Tensor(b!) grad_scale) -> ()");
        def(n + "_backward_blocks(Tensor grad_output, " + sym + ") -> (Tensor, Tensor)");
        def(n + "_calibrate(Tensor weight, float eps, float min_v, float max_v, int mode) -> Tensor");
        def(n + "_quantize(" + sym + ") -> Tensor");
        def(n + "_dequantize(Tensor codes, Tensor scale, float eps, float min_v, float max_v, "
                "ScalarType? dtype=None) -> Tensor");
    }
    def("symmetric_finish(Tensor block_sums, Tensor scale, int cols, float eps, float min_v, float max_v) -> Tensor");
    def("asymmetric_per_group_calibrate(Tensor weight, int group_size, int bit, float eps, float clip_val, "
        "int mode) -> (Tensor, Tensor)");
    def("per_token(Tensor input, int bit, float eps, bool symmetric) -> (Tensor, Tensor, Tensor)");
    def("per_token_backward(Tensor grad_output, Tensor input, Tensor scale, Tensor zero_point, int bit) -> Tensor");
    def("pack_codes(Tensor codes, int bit) -> Tensor");
    def("unpack_codes(Tensor packed, int count, int bit, bool signed) -> Tensor");
    m.def("block_count(int len) -> int", &block_count);
    m.def("version() -> str", &version);
}

template <Granularity G>
void register_symmetric(torch::Library &m, const std::string &name) {
    m.impl(name.c_str(), &symmetric<G>);
    m.impl((name + ".out").c_str(), [](const Tensor &w, const Tensor &s, double eps, double lo, double hi, Tensor &out) {
        symmetric_out<G>(w, s, eps, lo, hi, out);
    });
    m.impl((name + "_").c_str(), [](Tensor &w, const Tensor &s, double eps, double lo, double hi) {
        symmetric_out<G>(w, s, eps, lo, hi, w);
    });
    m.impl((name + "_backward").c_str(), &symmetric_backward<G>);
    m.impl((name + "_backward.out").c_str(), [](const Tensor &g, const Tensor &w, const Tensor &s, double eps, double lo,
                                                double hi, Tensor &gw, Tensor &gs) {
        symmetric_backward_out<G>(g, w, s, eps, lo, hi, gw, gs);
    });
    m.impl((name + "_backward_blocks").c_str(), &symmetric_backward_blocks<G>);
    m.impl((name + "_calibrate").c_str(), &symmetric_calibrate<G>);
    m.impl((name + "_quantize").c_str(), &symmetric_quantize<G>);
    m.impl((name + "_dequantize").c_str(), &symmetric_dequantize<G>);
}

// The kernels for CPU tensors; sparse CPU tensors reach the same functions,
// whose checks then name the argument that is not dense.
static void register_kernels(torch::Library &m) {
    m.impl("asymmetric_per_group", &asymmetric_per_group);
    m.impl("asymmetric_per_group.out", [](const Tensor &w, const Tensor &s, const Tensor &o, int64_t group_size,
                                          int64_t bit, double eps, double clip_val, Tensor &out) {
        asymmetric_per_group_out(w, s, o, group_size, bit, eps, clip_val, out);
    });
    m.impl("asymmetric_per_group_", [](Tensor &w, const Tensor &s, const Tensor &o, int64_t group_size, int64_t bit,
                                       double eps, double clip_val) {
        asymmetric_per_group_out(w, s, o, group_size, bit, eps, clip_val, w);
    });
    m.impl("asymmetric_per_group_backward", &asymmetric_per_group_backward);
    m.impl("asymmetric_per_group_backward.out",
           [](const Tensor &g, const Tensor &w, const Tensor &s, const Tensor &o, int64_t group_size, int64_t bit,
              double eps, double clip_val, Tensor &gw, Tensor &gs, Tensor &go) {
               asymmetric_per_group_backward_out(g, w, s, o, group_size, bit, eps, clip_val, gw, gs, go);
           });
    m.impl("asymmetric_per_group_quantize", &asymmetric_per_group_quantize);
    m.impl("asymmetric_per_group_dequantize", &asymmetric_per_group_dequantize);
    m.impl("asymmetric_per_group_calibrate", &asymmetric_per_group_calibrate);
    register_symmetric<PerChannel>(m, "symmetric_per_channel");
    register_symmetric<PerTensor>(m, "symmetric_per_tensor");
    m.impl("symmetric_finish", &symmetric_finish);
    m.impl("per_token", &per_token);
    m.impl("per_token_backward", &per_token_backward);
    m.impl("pack_codes", &pack_codes);
    m.impl("unpack_codes", &unpack_codes);
}

TORCH_LIBRARY_IMPL(qat_kernels, CPU, m) { register_kernels(m); }
TORCH_LIBRARY_IMPL(qat_kernels, SparseCPU, m) { register_kernels(m); }
