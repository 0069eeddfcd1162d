/* A 64-32-10 MLP on 8x8 digits, trained by quantization-aware training with
 * qat-kernels: the model that fine-tunes on a microcontroller (device.c) and
 * the same code on the host (host.c), which pretrains it, ships it, and
 * checks what the device sends back.
 *
 * - Layer 1 (32 x 64): asymmetric per group, 4 bits, groups of 16, a learned
 *   scale and offset per group (LSQ+). Layer 2 (10 x 32): symmetric per
 *   channel, 8 bits, a learned scale per row (LSQ).
 * - Master weights, scales and offsets are float32: SGD's steps (a learning
 *   rate of 0.1 times gradients near 1e-3) are below bfloat16's resolution
 *   for most weights, and float32 costs 10.7 KB of RAM here, which layer
 *   1's row-by-row pass leaves room for (below).
 * - Layer 1 is fake-quantized and trained one row (64 weights, 4 groups) at a
 *   time, through the kernels' _dtype forms on float32: it needs no buffer
 *   but its master weights and one row, so the model and its working memory
 *   take 18.5 KB of RAM (struct model and struct work).
 * - Every float operation is one IEEE operation in a fixed order (no
 *   contraction: build with -ffp-contract=off), the exponential included
 *   (mlp.c), so the host and a Cortex-M compute the same bits; the kernels
 *   give the same bits everywhere by design.
 */
#ifndef MLP_H
#define MLP_H

#include <stddef.h>
#include <stdint.h>

#include "qat_kernels.h"

enum { IN = 64, HIDDEN = 32, OUT = 10, BATCH = 8 };
enum { GROUP = 16, GROUPS = HIDDEN * IN / GROUP, ROW_GROUPS = IN / GROUP, BIT1 = 4 };
#define MIN_V (-128.0f)
#define MAX_V 127.0f
#define EPS 1e-4f
#define CLIP 0.99f

/* The model as it ships, to the device and back: the project's export
 * format (integer codes packed by qat_pack_codes and qat_pack_signed_codes,
 * bfloat16 scales and offsets), and float32 biases. The same layout on the
 * host and an Arm core (no padding: every member's size is a multiple of the
 * next one's alignment). */
struct shipped {
    uint8_t w1[HIDDEN * IN * BIT1 / 8]; /* layer 1's 4-bit codes, packed */
    uint8_t w2[OUT * HIDDEN];           /* layer 2's 8-bit codes, packed */
    qat_bf16 s1[GROUPS], o1[GROUPS], s2[OUT];
    float b1[HIDDEN], b2[OUT];
};

/* The model in training: float32 master weights, scales and offsets. */
struct model {
    float w1[HIDDEN * IN], b1[HIDDEN], s1[GROUPS], o1[GROUPS];
    float w2[OUT * HIDDEN], b2[OUT], s2[OUT];
};

/* A batch's activations and layer 2's buffers: the training's working
 * memory beside the model. */
struct work {
    float x[BATCH][IN], h[BATCH][HIDDEN], dh[BATCH][HIDDEN], z[BATCH][OUT];
    float row[IN], q2[OUT * HIDDEN], d2[OUT * HIDDEN];
    qat_bf16 s1[GROUPS], o1[GROUPS], s2[OUT];
};

/* A data set in the form the device stores it: pixels 0..16, labels 0..9. */
struct samples {
    const uint8_t (*x)[IN];
    const uint8_t *y;
    size_t count;
};

/* How to train: SGD on minibatches of BATCH, a shuffle per epoch. Scales
 * and offsets take their own learning rate, with LSQ's gradient factors:
 * at the weights' rate, an 8-bit scale (about 0.003 here) moved by a third
 * of itself in one step, and QAT fell 10 to 40 points behind float32. */
struct schedule {
    float lr, scale_lr;
    unsigned epochs;
    uint32_t seed;
    int quantized; /* 0: the float32 model, with no quantizer */
};

/* The model's predictions on a data set: how many are right, each
 * prediction, and an FNV-1a hash of every logit's bits. */
struct evaluation {
    size_t correct;
    uint32_t hash;
};

/* A 32-bit linear congruential generator (Numerical Recipes' constants):
 * the same sequence on every machine. */
uint32_t mlp_random(uint32_t *state);
/* A seeded shuffle of order[0..n), from mlp_random. */
void mlp_shuffle(uint16_t *order, size_t n, uint32_t *state);

/* Each returns QAT_OK or the first kernel's refusal. */
int32_t mlp_load(struct model *m, const struct shipped *s);
int32_t mlp_ship(const struct model *m, struct shipped *s);
/* order: room for data->count indices (the shuffle). */
int32_t mlp_train(struct model *m, struct work *w, const struct samples *data, const struct schedule *how,
                  uint16_t *order);
int32_t mlp_evaluate(const struct model *m, struct work *w, const struct samples *data, int quantized,
                     uint8_t *predictions, struct evaluation *result);

#endif
