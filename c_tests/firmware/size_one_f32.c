/* size_one.c's kernel on float32 data, through its _dtype form, for its code
 * size (`make sizes`): what one data type of one kernel costs. */
#include "qat_kernels.h"

static float weight[8], out[8];
static qat_bf16 scale = 0x3C00;

int main(void) {
    return qat_symmetric_per_tensor_dtype(QAT_DTYPE_F32, weight, &scale, out, 8, 1e-4f, -8.0f, 7.0f);
}
