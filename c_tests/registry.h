/* What the C tests need beside the list of entry points (entry_points.h,
 * generated from the Rust tests' registry): typical sizes, each buffer's
 * count, and contents that pass every check, as tests/registry/mod.rs
 * gives them. */
#ifndef QAT_TEST_REGISTRY_H
#define QAT_TEST_REGISTRY_H

#include <string.h>

#include "entry_points.h"

static const ep_args EP_DEFAULT_ARGS = {{0, 1}, 4, 1e-4f, 0.99f, -8.0f, 7.0f, 0};

static inline size_t ep_elem_size(ep_elem e) {
    switch (e) {
    case EP_BF16: case EP_F16: return 2;
    case EP_F64: return 8;
    case EP_F32: case EP_I32: return 4;
    default: return 1;
    }
}

/* Sizes every entry point accepts, with tails on every path: groups of 33,
 * rows of 37, a tensor of 4,103 elements, 101 packed codes. */
static inline ep_args ep_typical_args(const entry_point *ep) {
    ep_args a = EP_DEFAULT_ARGS;
    switch (ep->shape) {
    case EP_GROUP: a.sizes[0] = 4 * 33; a.sizes[1] = 33; break;
    case EP_MATRIX: a.sizes[0] = 3; a.sizes[1] = 37; break;
    case EP_TENSOR: a.sizes[0] = 4103; a.sizes[1] = 0; break;
    case EP_PACK: a.sizes[0] = 101; a.sizes[1] = 4; break;
    }
    return a;
}

/* Sizes from one length n, for sweeping lengths: per group three groups
 * where 3 divides n (else one), per channel two rows where n is even (else
 * one), packing at the widths 1, 2, 4 and 8 in turn. */
static inline ep_args ep_args_of_length(const entry_point *ep, size_t n) {
    ep_args a = EP_DEFAULT_ARGS;
    a.sizes[0] = n;
    switch (ep->shape) {
    case EP_GROUP: a.sizes[1] = n == 0 ? 1 : (n % 3 == 0 ? n / 3 : n); break;
    case EP_MATRIX: a.sizes[0] = (n % 2 == 0 && n) ? 2 : 1; a.sizes[1] = n / a.sizes[0]; break;
    case EP_TENSOR: a.sizes[1] = 0; break;
    case EP_PACK: a.sizes[1] = (size_t)1 << (n % 4); break;
    }
    return a;
}

/* Each buffer's element count for these sizes (which the shape accepts). */
static inline void ep_counts(const entry_point *ep, const ep_args *a, size_t *counts) {
    size_t all = a->sizes[0], units = 0, len = 0;
    int i;
    switch (ep->shape) {
    case EP_GROUP: units = a->sizes[0] / a->sizes[1]; len = a->sizes[1]; break;
    case EP_MATRIX: all = a->sizes[0] * a->sizes[1]; units = a->sizes[0]; len = a->sizes[1]; break;
    case EP_TENSOR: units = 1; len = a->sizes[0]; break;
    case EP_PACK: break;
    }
    for (i = 0; i < ep->buffers_len; i++) {
        switch (ep->buffers[i].count) {
        case EP_ALL: counts[i] = all; break;
        case EP_UNIT: counts[i] = units; break;
        case EP_BLOCKS: counts[i] = units * 2 * qat_block_count(len); break;
        case EP_CODES: counts[i] = a->sizes[0]; break;
        case EP_PACKED: counts[i] = qat_packed_size(a->sizes[0], (uint32_t)a->sizes[1]); break;
        }
    }
}

/* Contents that pass every check: bf16 (and binary16) values between 2^-7
 * and 2^-5 of either sign, one in five subnormal, f32 ones small and
 * positive; codes 0 and 1 (signed: 0 and -1);
 * block values of moderate size; small scales and zero points. */
static inline void ep_fill_valid(ep_elem elem, void *p, size_t n, uint64_t *state) {
    size_t i;
    for (i = 0; i < n; i++) {
        uint64_t r;
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        r = *state >> 33;
        switch (elem) {
        case EP_BF16: {
            qat_bf16 v = (qat_bf16)((r % 5 == 0 ? 0 : 0x3C00) | ((r >> 8) & 0x80FF));
            memcpy((unsigned char *)p + 2 * i, &v, 2);
            break;
        }
        case EP_U8: ((uint8_t *)p)[i] = (uint8_t)(r & 1); break;
        case EP_I8: ((int8_t *)p)[i] = (int8_t)(r & 1 ? -1 : 0); break;
        case EP_F64: {
            double v = (double)(r % 1000) / 997.0 - 0.5;
            memcpy((unsigned char *)p + 8 * i, &v, 8);
            break;
        }
        case EP_F16: { /* binary16 data, as bf16's: 2^-7 to 2^-5 */
            uint16_t v = (uint16_t)((r % 5 == 0 ? 0 : 0x2000) | ((r >> 8) & 0x83FF));
            memcpy((unsigned char *)p + 2 * i, &v, 2);
            break;
        }
        case EP_F32: { /* per-token scales, f32 data */
            float v = (float)(r % 1000) / 64000.0f + 1e-4f;
            memcpy((unsigned char *)p + 4 * i, &v, 4);
            break;
        }
        case EP_I32: { /* per-token zero points */
            int32_t v = (int32_t)(r % 16) - 8;
            memcpy((unsigned char *)p + 4 * i, &v, 4);
            break;
        }
        }
    }
}

#endif
