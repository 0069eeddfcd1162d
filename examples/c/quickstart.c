/* 4-bit asymmetric per-group fake quantization, forward and backward. */
#include <stdio.h>

#include "qat_kernels.h"

enum { NUMEL = 256, GROUP_SIZE = 128, GROUPS = NUMEL / GROUP_SIZE };

int main(void) {
    qat_bf16 weight[NUMEL], out[NUMEL], scale[GROUPS], offset[GROUPS];
    for (int i = 0; i < NUMEL; i++) weight[i] = qat_bf16_from_float(0.001f * (float)(i % 100 - 50));
    for (int g = 0; g < GROUPS; g++) {
        scale[g] = qat_bf16_from_float(0.1f / 16); /* value range / 2^bit */
        offset[g] = qat_bf16_from_float(0.0f);
    }
    int32_t status = qat_asymmetric_per_group(weight, scale, offset, out, NUMEL, GROUP_SIZE,
                                              4 /* bit */, 1e-4f /* eps */, 0.99f /* clip_val */);
    if (status != QAT_OK) {
        fprintf(stderr, "qat: %s\n", qat_status_message(status)); /* nothing was written */
        return 1;
    }
    printf("%+.4f -> %+.4f\n", qat_bf16_to_float(weight[7]), qat_bf16_to_float(out[7]));

    /* d(loss)/d(out) in; the weight, scale and offset gradients out. */
    qat_bf16 grad[NUMEL], grad_weight[NUMEL], grad_scale[GROUPS], grad_offset[GROUPS];
    for (int i = 0; i < NUMEL; i++) grad[i] = qat_bf16_from_float(1.0f);
    status = qat_asymmetric_per_group_backward(grad, weight, scale, offset, grad_weight, grad_scale,
                                               grad_offset, NUMEL, GROUP_SIZE, 4, 1e-4f, 0.99f);
    if (status != QAT_OK) return 1;
    printf("grad_scale[0] %+.3f, grad_offset[0] %+.3f\n", qat_bf16_to_float(grad_scale[0]),
           qat_bf16_to_float(grad_offset[0]));

    /* A bad argument gets its status code. */
    status = qat_asymmetric_per_group(weight, scale, offset, out, NUMEL, 100, 4, 1e-4f, 0.99f);
    printf("group_size 100: %s\n", qat_status_message(status));
    return status == QAT_ERR_SHAPE ? 0 : 1;
}
