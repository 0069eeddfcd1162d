/* qat-kernels from C: 4-bit asymmetric per-group fake quantization of 256
 * weights in groups of 128, forward and backward, then a rejected call.
 * `make -C c_tests test` builds and runs it; README.md shows it. */
#include <math.h>
#include <stdio.h>

#include "qat_kernels.h"

#define NUMEL 256
#define GROUP_SIZE 128
#define GROUPS (NUMEL / GROUP_SIZE)

int main(void) {
    qat_bf16 weight[NUMEL], out[NUMEL];
    qat_bf16 scale[GROUPS], offset[GROUPS];
    for (int i = 0; i < NUMEL; i++)
        weight[i] = qat_bf16_from_float(0.05f * sinf(0.1f * (float)i));
    for (int g = 0; g < GROUPS; g++) {
        scale[g] = qat_bf16_from_float(0.1f / 8); /* range / 2^bit */
        offset[g] = qat_bf16_from_float(0.0f);
    }

    int32_t status = qat_asymmetric_per_group(weight, scale, offset, out, NUMEL, GROUP_SIZE,
                                              4 /* bit */, 1e-4f /* eps */, 0.99f /* clip_val */);
    if (status != QAT_OK) {
        fprintf(stderr, "forward: %s\n", qat_status_message(status));
        return 1;
    }
    printf("weight %+.5f -> fake-quantized %+.5f\n", qat_bf16_to_float(weight[3]), qat_bf16_to_float(out[3]));

    /* Backward: the gradient of a loss with respect to out comes in; the
       weight, scale and offset gradients go out. Here d(loss)/d(out) = 1. */
    qat_bf16 grad_output[NUMEL], grad_weight[NUMEL], grad_scale[GROUPS], grad_offset[GROUPS];
    for (int i = 0; i < NUMEL; i++) grad_output[i] = qat_bf16_from_float(1.0f);
    status = qat_asymmetric_per_group_backward(grad_output, weight, scale, offset, grad_weight, grad_scale,
                                               grad_offset, NUMEL, GROUP_SIZE, 4, 1e-4f, 0.99f);
    if (status != QAT_OK) {
        fprintf(stderr, "backward: %s\n", qat_status_message(status));
        return 1;
    }
    printf("group 0: grad_scale %+.4f, grad_offset %+.4f\n", qat_bf16_to_float(grad_scale[0]),
           qat_bf16_to_float(grad_offset[0]));

    /* A bad argument is reported, and nothing is written. */
    status = qat_asymmetric_per_group(weight, scale, offset, out, NUMEL, 100 /* does not divide 256 */, 4,
                                      1e-4f, 0.99f);
    printf("group_size 100: %s (status %d)\n", qat_status_message(status), (int)status);
    printf("path: %d, qat-kernels %s\n", (int)qat_active_isa(), qat_version());
    return status == QAT_ERR_SHAPE ? 0 : 1;
}
