/* The host's side of on-device fine-tuning (device.c), on the 8x8 digits
 * that ship with scikit-learn (1,797 images, 64 pixels of 0..16 and a label
 * per line of digits.csv):
 *
 *   finetune-host prepare digits.csv OUT
 *       splits the digits (fixed seed) into 997 for pretraining, 400 for
 *       fine-tuning and 400 held out; shifts the last two one pixel to the
 *       right (the device's camera sits one pixel off the framing the
 *       pretraining data had); pretrains the MLP in float32, then with QAT;
 *       writes OUT/shipped.h (the model as packed codes and bfloat16 scales,
 *       and the device's two data sets, for its flash); and runs the device's
 *       fine-tuning here twice: in float32 with no quantizer (the reference)
 *       and with QAT, whose export it writes to OUT/host-export.bin.
 *
 *   finetune-host verify digits.csv EXPORT
 *       rebuilds the model from the bytes a device exported (dequantized
 *       codes, float32 arithmetic) and checks that it gives the device's
 *       predictions and logits bit for bit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finetune.h"

enum { DIGITS = 1797, PRETRAIN = DIGITS - 2 * TUNE };

static uint8_t pixels[DIGITS][IN], labels[DIGITS];
/* In split order: pretraining, fine-tuning, held out; and the held-out
 * digits as they were before the shift. */
static uint8_t x[DIGITS][IN], y[DIGITS], unshifted[TUNE][IN];
static struct model model, tuned;
static struct work work;
static uint16_t order[DIGITS];

static void fail(const char *what, int32_t status) {
    fprintf(stderr, "finetune-host: %s (%s)\n", what, status ? qat_status_message(status) : "");
    exit(1);
}

static void try(int32_t status, const char *what) {
    if (status != QAT_OK) fail(what, status);
}

/* Reads digits.csv and splits it: a seeded Fisher-Yates shuffle, then the
 * fine-tuning and held-out images shifted one pixel right (column 0 blank). */
static void load(const char *path) {
    FILE *f = fopen(path, "r");
    uint32_t state = 20261207u;
    size_t i, c;
    if (!f) fail(path, 0);
    for (i = 0; i < DIGITS; i++) {
        unsigned v;
        for (c = 0; c <= IN; c++) {
            /* Values are written as 0.0 .. 16.0 (labels 0.0 .. 9.0). */
            double d;
            if (fscanf(f, c ? ",%lf" : "%lf", &d) != 1) fail("digits.csv: 1797 lines of 65 numbers expected", 0);
            v = (unsigned)d;
            if ((double)v != d || v > (c < IN ? 16u : 9u)) fail("digits.csv: a value out of range", 0);
            if (c < IN)
                pixels[i][c] = (uint8_t)v;
            else
                labels[i] = (uint8_t)v;
        }
    }
    fclose(f);
    for (i = 0; i < DIGITS; i++) order[i] = (uint16_t)i;
    mlp_shuffle(order, DIGITS, &state);
    for (i = 0; i < DIGITS; i++) {
        const uint8_t *p = pixels[order[i]];
        y[i] = labels[order[i]];
        if (i >= PRETRAIN + TUNE) memcpy(unshifted[i - PRETRAIN - TUNE], p, IN);
        for (c = 0; c < IN; c++) {
            if (i < PRETRAIN)
                x[i][c] = p[c];
            else
                x[i][c] = c % 8 ? p[c - 1] : 0;
        }
    }
}

static struct samples part(size_t first, size_t count) {
    struct samples s;
    s.x = (const uint8_t(*)[IN])x[first];
    s.y = y + first;
    s.count = count;
    return s;
}

static double percent(size_t correct, size_t count) { return 100.0 * (double)correct / (double)count; }

/* Accuracy on the held-out set, and its predictions' record. */
static struct evaluation held_out(const struct model *m, int quantized, uint8_t *predictions) {
    struct samples s = part(PRETRAIN + TUNE, TUNE);
    struct evaluation e;
    try(mlp_evaluate(m, &work, &s, quantized, predictions, &e), "evaluation");
    return e;
}

static void print_array(FILE *f, const char *type, const char *name, const uint8_t *v, size_t n) {
    size_t i;
    fprintf(f, "TABLE const %s %s[%zu] = {", type, name, n);
    for (i = 0; i < n; i++) fprintf(f, "%s%u", i == 0 ? "\n    " : i % 32 ? "," : ",\n    ", v[i]);
    fprintf(f, "};\n");
}

static void write_shipped(const char *out, const struct shipped *s) {
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/shipped.h", out);
    f = fopen(path, "w");
    if (!f) fail(path, 0);
    fprintf(f, "/* Written by finetune-host prepare: the pretrained model as packed codes, and the\n"
               " * fine-tuning and held-out digits (shifted). TABLE places each in flash. */\n");
    /* The model as its bytes: the device reads them as a struct shipped. */
    print_array(f, "uint8_t", "shipped_bytes", (const uint8_t *)s, sizeof *s);
    print_array(f, "uint8_t", "tune_x", x[PRETRAIN], (size_t)TUNE * IN);
    print_array(f, "uint8_t", "tune_y", y + PRETRAIN, TUNE);
    print_array(f, "uint8_t", "held_out_x", x[PRETRAIN + TUNE], (size_t)TUNE * IN);
    print_array(f, "uint8_t", "held_out_y", y + PRETRAIN + TUNE, TUNE);
    if (fclose(f)) fail(path, 0);
}

static void write_file(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, n, f) != n || fclose(f)) fail(path, 0);
}

static void prepare(const char *out) {
    static struct shipped shipped;
    static struct exported host;
    struct samples pre = part(0, PRETRAIN), tune = part(PRETRAIN, TUNE);
    struct schedule f32 = {0.1f, 0.0f, 30, 1, 0}, qat = {0.05f, 0.005f, 10, 2, 1};
    struct evaluation e;
    qat_bf16 s1[GROUPS], o1[GROUPS], s2[OUT];
    uint32_t state = 7u;
    size_t i;
    char path[4096];

    /* Uniform initialisation in +-sqrt(6 / fan-in), from the generator
     * alone (no C library call whose bits could differ between hosts). */
    for (i = 0; i < HIDDEN * IN; i++)
        model.w1[i] = ((float)(mlp_random(&state) >> 8) * 5.96046448e-8f - 0.5f) * 0.612372436f;
    for (i = 0; i < OUT * HIDDEN; i++)
        model.w2[i] = ((float)(mlp_random(&state) >> 8) * 5.96046448e-8f - 0.5f) * 0.866025404f;
    try(mlp_train(&model, &work, &pre, &f32, order), "float32 pretraining");
    {
        struct samples plain = part(PRETRAIN + TUNE, TUNE);
        plain.x = (const uint8_t(*)[IN])unshifted;
        try(mlp_evaluate(&model, &work, &plain, 0, NULL, &e), "evaluation");
    }
    printf("pretrained in float32 on %d digits: %.2f%% of the %d held out as they were, ", PRETRAIN,
           percent(e.correct, TUNE), TUNE);
    e = held_out(&model, 0, NULL);
    printf("%.2f%% shifted\n", percent(e.correct, TUNE));
    /* The quantizers' scales and offsets from the weights, then QAT. */
    try(qat_asymmetric_per_group_calibrate_dtype(QAT_DTYPE_F32, model.w1, s1, o1, HIDDEN * IN, GROUP, BIT1, EPS, CLIP,
                                                 QAT_CALIBRATE_SEARCH),
        "layer 1 calibration");
    try(qat_symmetric_per_channel_calibrate_dtype(QAT_DTYPE_F32, model.w2, s2, OUT, HIDDEN, EPS, MIN_V, MAX_V,
                                                  QAT_CALIBRATE_SEARCH),
        "layer 2 calibration");
    for (i = 0; i < GROUPS; i++) {
        model.s1[i] = qat_bf16_to_float(s1[i]);
        model.o1[i] = qat_bf16_to_float(o1[i]);
    }
    for (i = 0; i < OUT; i++) model.s2[i] = qat_bf16_to_float(s2[i]);
    try(mlp_train(&model, &work, &pre, &qat, order), "QAT pretraining");
    try(mlp_ship(&model, &shipped), "export");
    write_shipped(out, &shipped);

    /* What the device starts from, and the two fine-tuning runs. */
    try(mlp_load(&model, &shipped), "loading the shipped model");
    e = held_out(&model, 0, NULL);
    printf("shipped (4-bit and 8-bit codes, %zu bytes): %.2f%% of the held-out digits\n", sizeof shipped,
           percent(e.correct, TUNE));
    tuned = model;
    {
        struct schedule how = fine_tuning;
        how.quantized = 0;
        try(mlp_train(&tuned, &work, &tune, &how, order), "float32 fine-tuning");
    }
    e = held_out(&tuned, 0, NULL);
    printf("host float32 fine-tuning, no quantizer: %.2f%%\n", percent(e.correct, TUNE));
    tuned = model;
    try(mlp_train(&tuned, &work, &tune, &fine_tuning, order), "QAT fine-tuning");
    try(mlp_ship(&tuned, &host.model), "export");
    e = held_out(&tuned, 1, host.predictions);
    host.correct = (uint32_t)e.correct;
    host.hash = e.hash;
    printf("host QAT fine-tuning (the device's run): %.2f%%\n", percent(e.correct, TUNE));
    snprintf(path, sizeof path, "%s/host-export.bin", out);
    write_file(path, &host, sizeof host);
}

static void verify(const char *path) {
    static struct exported device;
    static uint8_t predictions[TUNE];
    struct evaluation e;
    FILE *f = fopen(path, "rb");
    size_t i, differ = 0;
    if (!f || fread(&device, 1, sizeof device, f) != sizeof device || fgetc(f) != EOF) fail(path, 0);
    fclose(f);
    /* The plain rebuilt model: dequantized weights, float32, no quantizer. */
    try(mlp_load(&model, &device.model), "loading the exported model");
    e = held_out(&model, 0, predictions);
    for (i = 0; i < TUNE; i++) differ += predictions[i] != device.predictions[i];
    printf("rebuilt from %s: %.2f%%, %zu of %d predictions differ from the device's, logits hash %08x (device "
           "%08x)\n",
           path, percent(e.correct, TUNE), differ, TUNE, (unsigned)e.hash, (unsigned)device.hash);
    if (differ || e.hash != device.hash || e.correct != device.correct) fail("the rebuilt model differs", 0);
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "prepare")) {
        load(argv[2]);
        prepare(argv[3]);
    } else if (argc == 4 && !strcmp(argv[1], "verify")) {
        load(argv[2]);
        verify(argv[3]);
    } else {
        fprintf(stderr, "usage: finetune-host prepare digits.csv OUT | verify digits.csv EXPORT\n");
        return 2;
    }
    return 0;
}
