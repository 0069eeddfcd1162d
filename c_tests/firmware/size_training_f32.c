/* size_training.c's kernels on float32 data, through their _dtype forms, for
 * their code size (`make sizes`). */
#include "qat_kernels.h"

static float g[8], w[8], out[8], gw[8], gs[2], go[2];
static qat_bf16 s[2] = {0x3C00, 0x3C00}, o[2];

int main(void) {
    const int32_t f32 = QAT_DTYPE_F32;
    int32_t st = 0;
    st |= qat_asymmetric_per_group_dtype(f32, w, s, o, out, 8, 4, 4, 1e-4f, 0.99f);
    st |= qat_asymmetric_per_group_backward_dtype(f32, g, w, s, o, gw, gs, go, 8, 4, 4, 1e-4f, 0.99f);
    st |= qat_symmetric_per_channel_dtype(f32, w, s, out, 2, 4, 1e-4f, -8.0f, 7.0f);
    st |= qat_symmetric_per_channel_backward_dtype(f32, g, w, s, gw, gs, 2, 4, 1e-4f, -8.0f, 7.0f);
    st |= qat_symmetric_per_tensor_dtype(f32, w, s, out, 8, 1e-4f, -8.0f, 7.0f);
    st |= qat_symmetric_per_tensor_backward_dtype(f32, g, w, s, gw, gs, 8, 1e-4f, -8.0f, 7.0f);
    return st;
}
