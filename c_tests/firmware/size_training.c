/* A firmware that trains: it calls the training kernels (forward and backward of each weight quantizer) and nothing
 * else, for their code size (`make sizes`). */
#include "qat_kernels.h"

static qat_bf16 g[8], w[8], s[2] = {0x3C00, 0x3C00}, o[2], out[8], gw[8], gs[2], go[2];

int main(void) {
    int32_t st = 0;
    st |= qat_asymmetric_per_group(w, s, o, out, 8, 4, 4, 1e-4f, 0.99f);
    st |= qat_asymmetric_per_group_backward(g, w, s, o, gw, gs, go, 8, 4, 4, 1e-4f, 0.99f);
    st |= qat_symmetric_per_channel(w, s, out, 2, 4, 1e-4f, -8.0f, 7.0f);
    st |= qat_symmetric_per_channel_backward(g, w, s, gw, gs, 2, 4, 1e-4f, -8.0f, 7.0f);
    st |= qat_symmetric_per_tensor(w, s, out, 8, 1e-4f, -8.0f, 7.0f);
    st |= qat_symmetric_per_tensor_backward(g, w, s, gw, gs, 8, 1e-4f, -8.0f, 7.0f);
    return st;
}
