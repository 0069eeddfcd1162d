/* The MLP of mlp.h: loading and shipping its integer form, training and
 * evaluating it, on the host and on a Cortex-M alike. */
#include "mlp.h"

#include <string.h>

/* LSQ's gradient factors 1 / sqrt(n * Qp), n weights per scale:
 * 1 / sqrt(16 * 8) and 1 / sqrt(32 * 127), written out so that no square
 * root is taken at run time. */
#define LSQ1 0.0883883476f
#define LSQ2 0.0156863951f

#define TRY(call)                              \
    do {                                       \
        int32_t status_ = (call);              \
        if (status_ != QAT_OK) return status_; \
    } while (0)

/* e^x for x <= 0 from additions and multiplications alone, so that every
 * IEEE machine gives the same bits (a C library's expf differs between
 * glibc and newlib): x = k ln 2 + r with |r| <= ln 2 / 2, a degree-6 Taylor
 * polynomial in r, then times 2^k. About 1e-7 relative; 0 below -87. */
static float exp_nonpositive(float x) {
    union {
        uint32_t bits;
        float value;
    } two_k;
    float p, r, kf;
    int k;
    if (x < -87.0f) return 0.0f;
    kf = x * 1.44269504f;
    k = (int)(kf - 0.5f); /* kf <= 0: rounds to nearest */
    kf = (float)k;
    r = x - kf * 0.693145752f; /* ln 2 in two parts (Cody and Waite) */
    r = r - kf * 1.42860677e-6f;
    p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666679f + r * (0.00833333377f +
                                                                                        r * 0.00138888892f)))));
    two_k.bits = (uint32_t)(k + 127) << 23; /* k >= -126: a normal power of two */
    return p * two_k.value;
}

static void to_bf16(qat_bf16 *out, const float *in, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) out[i] = qat_bf16_from_float(in[i]);
}

int32_t mlp_load(struct model *m, const struct shipped *s) {
    uint8_t codes[IN];
    int8_t signed_codes[OUT * HIDDEN];
    size_t k, i;
    /* One row at a time: 4-bit rows of 64 codes are whole bytes. */
    for (k = 0; k < HIDDEN; k++) {
        TRY(qat_unpack_codes(s->w1 + k * (IN * BIT1 / 8), IN, BIT1, codes));
        TRY(qat_asymmetric_per_group_dequantize_dtype(QAT_DTYPE_F32, codes, s->s1 + k * ROW_GROUPS,
                                                      s->o1 + k * ROW_GROUPS, m->w1 + k * IN, IN, GROUP, BIT1, EPS,
                                                      CLIP));
    }
    TRY(qat_unpack_signed_codes(s->w2, OUT * HIDDEN, 8, signed_codes));
    TRY(qat_symmetric_per_channel_dequantize_dtype(QAT_DTYPE_F32, signed_codes, s->s2, m->w2, OUT, HIDDEN, EPS,
                                                   MIN_V, MAX_V));
    for (i = 0; i < GROUPS; i++) {
        m->s1[i] = qat_bf16_to_float(s->s1[i]);
        m->o1[i] = qat_bf16_to_float(s->o1[i]);
    }
    for (i = 0; i < OUT; i++) m->s2[i] = qat_bf16_to_float(s->s2[i]);
    memcpy(m->b1, s->b1, sizeof m->b1);
    memcpy(m->b2, s->b2, sizeof m->b2);
    return QAT_OK;
}

int32_t mlp_ship(const struct model *m, struct shipped *s) {
    uint8_t codes[IN];
    int8_t signed_codes[OUT * HIDDEN];
    size_t k;
    to_bf16(s->s1, m->s1, GROUPS);
    to_bf16(s->o1, m->o1, GROUPS);
    to_bf16(s->s2, m->s2, OUT);
    for (k = 0; k < HIDDEN; k++) {
        TRY(qat_asymmetric_per_group_quantize_dtype(QAT_DTYPE_F32, m->w1 + k * IN, s->s1 + k * ROW_GROUPS,
                                                    s->o1 + k * ROW_GROUPS, codes, IN, GROUP, BIT1, EPS, CLIP));
        TRY(qat_pack_codes(codes, IN, BIT1, s->w1 + k * (IN * BIT1 / 8)));
    }
    TRY(qat_symmetric_per_channel_quantize_dtype(QAT_DTYPE_F32, m->w2, s->s2, signed_codes, OUT, HIDDEN, EPS, MIN_V,
                                                 MAX_V));
    TRY(qat_pack_signed_codes(signed_codes, OUT * HIDDEN, 8, s->w2));
    memcpy(s->b1, m->b1, sizeof s->b1);
    memcpy(s->b2, m->b2, sizeof s->b2);
    return QAT_OK;
}

/* Row k of layer 1 as the forward pass uses it: fake-quantized, or as it is. */
static int32_t layer1_row(const struct model *m, struct work *w, size_t k, int quantized) {
    if (!quantized) {
        memcpy(w->row, m->w1 + k * IN, sizeof w->row);
        return QAT_OK;
    }
    return qat_asymmetric_per_group_dtype(QAT_DTYPE_F32, m->w1 + k * IN, w->s1 + k * ROW_GROUPS,
                                          w->o1 + k * ROW_GROUPS, w->row, IN, GROUP, BIT1, EPS, CLIP);
}

/* The logits of the n samples in w->x, into w->z; w->h keeps the hidden
 * layer. Layer 1 is fake-quantized row by row, layer 2 into w->q2. */
static int32_t forward(const struct model *m, struct work *w, size_t n, int quantized) {
    size_t k, b, c, o;
    if (quantized) {
        to_bf16(w->s1, m->s1, GROUPS);
        to_bf16(w->o1, m->o1, GROUPS);
        to_bf16(w->s2, m->s2, OUT);
        TRY(qat_symmetric_per_channel_dtype(QAT_DTYPE_F32, m->w2, w->s2, w->q2, OUT, HIDDEN, EPS, MIN_V, MAX_V));
    } else {
        memcpy(w->q2, m->w2, sizeof w->q2);
    }
    for (k = 0; k < HIDDEN; k++) {
        TRY(layer1_row(m, w, k, quantized));
        for (b = 0; b < n; b++) {
            float sum = m->b1[k];
            for (c = 0; c < IN; c++) sum += w->row[c] * w->x[b][c];
            w->h[b][k] = sum > 0.0f ? sum : 0.0f;
        }
    }
    for (b = 0; b < n; b++)
        for (o = 0; o < OUT; o++) {
            float sum = m->b2[o];
            for (k = 0; k < HIDDEN; k++) sum += w->q2[o * HIDDEN + k] * w->h[b][k];
            w->z[b][o] = sum;
        }
    return QAT_OK;
}

/* Samples order[0..n) into w->x, as floats: a pixel p is p / 16, exactly. */
static void load_batch(struct work *w, const struct samples *data, const uint16_t *order, size_t n) {
    size_t b, c;
    for (b = 0; b < n; b++)
        for (c = 0; c < IN; c++) w->x[b][c] = (float)data->x[order[b]][c] * 0.0625f;
}

/* Minus the gradient of the softmax cross-entropy over the logits, divided
 * by the batch: (onehot - softmax(z)) / n, into w->z. */
static void loss_gradient(struct work *w, const struct samples *data, const uint16_t *order, size_t n) {
    size_t b, o;
    for (b = 0; b < n; b++) {
        float *z = w->z[b], top = z[0], sum = 0.0f;
        for (o = 1; o < OUT; o++)
            if (z[o] > top) top = z[o];
        for (o = 0; o < OUT; o++) {
            z[o] = exp_nonpositive(z[o] - top);
            sum += z[o];
        }
        for (o = 0; o < OUT; o++) z[o] = ((o == data->y[order[b]] ? 1.0f : 0.0f) - z[o] / sum) / (float)n;
    }
}

/* One SGD step on the samples order[0..n). */
static int32_t step(struct model *m, struct work *w, const struct samples *data, const uint16_t *order, size_t n,
                    const struct schedule *how) {
    const float lr = how->lr;
    float gs2[OUT], gs1[ROW_GROUPS], go1[ROW_GROUPS];
    size_t k, b, c, o, g;
    load_batch(w, data, order, n);
    TRY(forward(m, w, n, how->quantized));
    loss_gradient(w, data, order, n);
    /* Layer 2's gradient (the ascent direction), and the hidden layer's
     * through the fake-quantized weights and the ReLU. */
    memset(w->d2, 0, sizeof w->d2);
    for (b = 0; b < n; b++)
        for (k = 0; k < HIDDEN; k++) {
            float sum = 0.0f;
            for (o = 0; o < OUT; o++) {
                w->d2[o * HIDDEN + k] += w->z[b][o] * w->h[b][k];
                sum += w->z[b][o] * w->q2[o * HIDDEN + k];
            }
            w->dh[b][k] = w->h[b][k] > 0.0f ? sum : 0.0f;
        }
    if (how->quantized)
        TRY(qat_symmetric_per_channel_backward_dtype(QAT_DTYPE_F32, w->d2, m->w2, w->s2, w->d2, gs2, OUT, HIDDEN, EPS,
                                                     MIN_V, MAX_V));
    for (c = 0; c < OUT * HIDDEN; c++) m->w2[c] += lr * w->d2[c];
    for (o = 0; o < OUT; o++) {
        float sum = 0.0f;
        for (b = 0; b < n; b++) sum += w->z[b][o];
        m->b2[o] += lr * sum;
        if (how->quantized) m->s2[o] += how->scale_lr * LSQ2 * gs2[o];
    }
    /* Layer 1, row by row: the row's gradient, through its quantizer (in
     * place), then the step. */
    for (k = 0; k < HIDDEN; k++) {
        float sum = 0.0f;
        memset(w->row, 0, sizeof w->row);
        for (b = 0; b < n; b++) {
            const float d = w->dh[b][k];
            if (d == 0.0f) continue;
            sum += d;
            for (c = 0; c < IN; c++) w->row[c] += d * w->x[b][c];
        }
        m->b1[k] += lr * sum;
        if (how->quantized) {
            float *s = m->s1 + k * ROW_GROUPS, *off = m->o1 + k * ROW_GROUPS;
            TRY(qat_asymmetric_per_group_backward_dtype(QAT_DTYPE_F32, w->row, m->w1 + k * IN, w->s1 + k * ROW_GROUPS,
                                                        w->o1 + k * ROW_GROUPS, w->row, gs1, go1, IN, GROUP, BIT1, EPS,
                                                        CLIP));
            for (g = 0; g < ROW_GROUPS; g++) {
                s[g] += how->scale_lr * LSQ1 * gs1[g];
                off[g] += how->scale_lr * go1[g];
            }
        }
        for (c = 0; c < IN; c++) m->w1[k * IN + c] += lr * w->row[c];
    }
    return QAT_OK;
}

uint32_t mlp_random(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return *state;
}

void mlp_shuffle(uint16_t *order, size_t n, uint32_t *state) {
    size_t i;
    for (i = n; i > 1; i--) { /* Fisher and Yates */
        size_t j = (size_t)((uint64_t)mlp_random(state) * i >> 32);
        uint16_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

int32_t mlp_train(struct model *m, struct work *w, const struct samples *data, const struct schedule *how,
                  uint16_t *order) {
    uint32_t state = how->seed;
    unsigned epoch;
    size_t i;
    for (i = 0; i < data->count; i++) order[i] = (uint16_t)i;
    for (epoch = 0; epoch < how->epochs; epoch++) {
        mlp_shuffle(order, data->count, &state);
        for (i = 0; i < data->count; i += BATCH)
            TRY(step(m, w, data, order + i, data->count - i < BATCH ? data->count - i : BATCH, how));
    }
    return QAT_OK;
}

int32_t mlp_evaluate(const struct model *m, struct work *w, const struct samples *data, int quantized,
                     uint8_t *predictions, struct evaluation *result) {
    uint16_t order[BATCH];
    uint32_t hash = 2166136261u;
    size_t i, b, o, n;
    result->correct = 0;
    for (i = 0; i < data->count; i += n) {
        n = data->count - i < BATCH ? data->count - i : BATCH;
        for (b = 0; b < n; b++) order[b] = (uint16_t)(i + b);
        load_batch(w, data, order, n);
        TRY(forward(m, w, n, quantized));
        for (b = 0; b < n; b++) {
            uint8_t best = 0;
            for (o = 0; o < OUT; o++) {
                uint32_t bits;
                int byte;
                memcpy(&bits, &w->z[b][o], sizeof bits);
                for (byte = 0; byte < 4; byte++) hash = (hash ^ ((bits >> (8 * byte)) & 0xFFu)) * 16777619u;
                if (w->z[b][o] > w->z[b][best]) best = (uint8_t)o;
            }
            if (predictions) predictions[i + b] = best;
            result->correct += best == data->y[i + b];
        }
    }
    result->hash = hash;
    return QAT_OK;
}
