/* The fine-tuning task, as the host (host.c) and the device (device.c) both
 * run it: the data sets' sizes, the schedule, and the record a device exports. */
#ifndef FINETUNE_H
#define FINETUNE_H

#include "mlp.h"

/* Digits to fine-tune on, and as many held out. */
enum { TUNE = 400 };

/* Ten epochs of QAT over the 400 shifted digits; scales and offsets at a
 * tenth of the weights' rate. */
static const struct schedule fine_tuning = {0.1f, 0.01f, 10, 3, 1};

/* What the device sends back over semihosting: the fine-tuned model in the
 * shipped form, its prediction for each held-out digit, how many were right,
 * and the FNV-1a hash of every logit's bits. */
struct exported {
    struct shipped model;
    uint8_t predictions[TUNE];
    uint32_t correct, hash;
};

#endif
