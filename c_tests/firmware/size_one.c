/* A firmware that calls one training kernel, for its code size
 * (`make sizes`): only what qat_symmetric_per_tensor reaches is linked. */
#include "qat_kernels.h"

static qat_bf16 weight[8], scale = 0x3C00, out[8];

int main(void) { return qat_symmetric_per_tensor(weight, &scale, out, 8, 1e-4f, -8.0f, 7.0f); }
