/* Scale gradients across shards through the C ABI: a per-tensor weight in
 * shards of whole blocks, each shard's block values combined, then finished:
 * the same bits as one call, on every ISA; and the statuses. */
#include "reference.h"

enum { BLOCK = 4096, BLOCKS = 6, N = BLOCKS * BLOCK + 777 };

static qat_bf16 x[N], g[N], gw[N];
static double combined[2 * (BLOCKS + 1)], values[2 * (BLOCKS + 1)];

int main(void) {
    size_t i, k;
    int32_t isa;
    const qat_bf16 scale = narrow(0.05f);
    const size_t total = qat_block_count(N);
    CHECK(total == BLOCKS + 1 && qat_block_count(0) == 0 && qat_block_count(BLOCK) == 1, "block counts");
    for (i = 0; i < N; i++) {
        x[i] = rng_bf16(-5, 5);
        g[i] = rng_bf16(-1, 1);
    }
    for (isa = QAT_ISA_SCALAR; isa <= QAT_ISA_AVX512; isa++) {
        qat_bf16 one = 0, sharded = 0;
        /* Shards: blocks 0-1, 2-4, 5 and the rest. */
        static const size_t cuts[] = {0, 2 * BLOCK, 5 * BLOCK, N};
        if (qat_set_isa(isa) != QAT_OK) continue;
        CHECK(qat_symmetric_per_tensor_backward(g, x, &scale, gw, &one, N, 1e-4f, -128, 127) == QAT_OK, "one call");
        memset(combined, 0, sizeof combined);
        for (k = 0; k + 1 < sizeof cuts / sizeof cuts[0]; k++) {
            size_t start = cuts[k], len = cuts[k + 1] - cuts[k], blocks = qat_block_count(len), b;
            CHECK(qat_symmetric_per_tensor_backward_blocks(g + start, x + start, &scale, gw + start, values, len,
                                                           1e-4f, -128, 127) == QAT_OK,
                  "shard %zu", k);
            for (b = 0; b < blocks; b++) { /* the all-reduce: a sum */
                combined[start / BLOCK + b] += values[b];
                combined[total + start / BLOCK + b] += values[blocks + b];
            }
        }
        CHECK(qat_symmetric_per_tensor_finish(combined, &scale, &sharded, N, 1e-4f, -128, 127) == QAT_OK, "finish");
        CHECK(sharded == one, "isa %d: sharded 0x%04x, one call 0x%04x", (int)isa, sharded, one);
    }
    qat_set_isa(QAT_ISA_AUTO);
    {
        qat_bf16 gs = 0x1234;
        CHECK(qat_symmetric_per_tensor_finish(combined, &scale, &gs, N, 0.0f, -128, 127) == QAT_ERR_EPS, "eps");
        CHECK(qat_symmetric_per_tensor_finish(NULL, &scale, &gs, N, 1e-4f, -128, 127) == QAT_ERR_POINTER, "null");
        CHECK(qat_symmetric_per_tensor_backward_blocks(g, x, &scale, gw, (double *)((char *)values + 1), N, 1e-4f,
                                                       -128, 127) == QAT_ERR_POINTER,
              "misaligned block values");
        CHECK(qat_symmetric_per_tensor_backward_blocks(g, x, &scale, gw, (double *)gw, BLOCK, 1e-4f, -128, 127) ==
                  QAT_ERR_OVERLAP,
              "block values over the weight gradient");
        CHECK(gs == 0x1234, "a refused finish wrote");
    }
    if (failures) return 1;
    printf("test_shards (per tensor in 4 shards of whole blocks, every ISA): ok\n");
    return 0;
}
