/* Fine-tuning on a microcontroller: the firmware side (host.c is the host's).
 *
 * The device holds in flash the pretrained MLP of mlp.h as its integer codes
 * (shipped.h, written by the host), 400 digits to fine-tune on and 400 held
 * out, both seen through a camera one pixel off. It unpacks the model into
 * float32 master weights, scores the held-out digits, fine-tunes with QAT on
 * the library's kernels, scores them again, and sends the fine-tuned codes
 * and its predictions back to the host over semihosting (export.bin). It
 * reports the accuracies, its peak RAM (static data and the deepest stack,
 * from a painted stack) and the instructions per sample, counted by a timer
 * that qemu's -icount drives from the instruction count.
 */
#include <stdint.h>
#include <string.h>

#include "finetune.h"
#include "report.h"

#define TABLE __attribute__((section(".tables"), aligned(4)))
#include "shipped.h"

/* From link.ld: the code ends at _ecode (vectors, text, read-only data,
 * unwinding table; the data tables come after it); .data's initial values
 * are in flash too. */
extern uint32_t _sdata, _edata, _ebss, _estack, _ecode;

static struct model model;
static struct work work;
static struct exported out;
static uint16_t order[TUNE];

/* The CMSDK APB timer 0 of mps2-an385 and -an386, counting down at 25 MHz
 * of virtual time. */
#define TIMER ((volatile uint32_t *)0x40000000u)
static void timer_start(void) {
    TIMER[2] = 0xFFFFFFFFu; /* RELOAD */
    TIMER[1] = 0xFFFFFFFFu; /* VALUE */
    TIMER[0] = 1u;          /* CTRL: enable */
}
static uint32_t timer_ticks(void) { return 0xFFFFFFFFu - TIMER[1]; }

/* Instructions per timer tick: a loop of known length, 2 instructions per
 * turn, timed. Under -icount shift=0 (1 ns per instruction) it is 40. */
static uint32_t instructions_per_tick(void) {
    uint32_t turns = 1000000u, before = timer_ticks(), ticks;
#ifdef __thumb2__
    __asm__ volatile("1: subs %0, %0, #1\n bne 1b" : "+l"(turns) : : "cc");
#else /* GCC's inline assembly is in divided syntax for Thumb-1 */
    __asm__ volatile(".syntax unified\n 1: subs %0, %0, #1\n bne 1b\n .syntax divided" : "+l"(turns) : : "cc");
#endif
    ticks = timer_ticks() - before;
    return ticks ? (2000000u + ticks / 2) / ticks : 0;
}

static void print_percent(const char *before, size_t correct, const char *after) {
    unsigned long hundredths = (unsigned long)(correct * 10000u / TUNE);
    char tail[32];
    tail[0] = '.';
    tail[1] = (char)('0' + hundredths % 100 / 10);
    tail[2] = (char)('0' + hundredths % 10);
    tail[3] = '\0';
    strcat(tail, after);
    print_number(before, hundredths / 100, tail);
}

/* A failure: what failed, and the kernel's status if one refused. */
static int stop(const char *what, int32_t status) {
    semihost_print("FAILED: ");
    semihost_print(what);
    if (status != QAT_OK) {
        semihost_print(": ");
        semihost_print(qat_status_message(status));
    }
    semihost_print("\n");
    return 1;
}

int main(void) {
    const struct samples tune = {(const uint8_t(*)[IN])tune_x, tune_y, TUNE},
                         held_out = {(const uint8_t(*)[IN])held_out_x, held_out_y, TUNE};
    struct evaluation before, after;
    uint32_t per_tick, train_ticks, eval_ticks, *p, *sp;
    unsigned long stack, data;
    int32_t status;

    /* Paint the free RAM between the static data and this frame. */
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (p = &_ebss; p < sp - 16; p++) *p = PAINT;
    timer_start();
    per_tick = instructions_per_tick();

    semihost_print("finetune: qat-kernels ");
    semihost_print(qat_version());
    semihost_print(BOARD "\n");
    if (sizeof shipped_bytes != sizeof out.model) return stop("shipped.h is not this model's", QAT_OK);
    memcpy(&out.model, shipped_bytes, sizeof out.model);
    if ((status = mlp_load(&model, &out.model)) != QAT_OK) return stop("loading the model", status);

    eval_ticks = timer_ticks();
    status = mlp_evaluate(&model, &work, &held_out, 1, NULL, &before);
    eval_ticks = timer_ticks() - eval_ticks;
    if (status != QAT_OK) return stop("evaluation", status);
    print_percent("held-out accuracy, shipped model: ", before.correct, "%\n");

    train_ticks = timer_ticks();
    status = mlp_train(&model, &work, &tune, &fine_tuning, order);
    train_ticks = timer_ticks() - train_ticks;
    if (status != QAT_OK) return stop("fine-tuning", status);
    if ((status = mlp_evaluate(&model, &work, &held_out, 1, out.predictions, &after)) != QAT_OK)
        return stop("evaluation", status);
    print_percent("held-out accuracy, fine-tuned: ", after.correct, "%\n");

    if ((status = mlp_ship(&model, &out.model)) != QAT_OK) return stop("export", status);
    out.correct = (uint32_t)after.correct;
    out.hash = after.hash;
    if (!semihost_write_file("export.bin", &out, sizeof out)) return stop("writing export.bin", QAT_OK);
    semihost_print("exported the fine-tuned codes to export.bin\n");

    for (p = &_ebss; p < sp && *p == PAINT; p++) {
    }
    stack = (unsigned long)((uintptr_t)&_estack - (uintptr_t)p);
    data = (unsigned long)((uintptr_t)&_ebss - (uintptr_t)&_sdata);
    print_number("static data: ", data, " bytes, ");
    print_number("deepest stack: ", stack, " bytes, ");
    print_number("peak RAM: ", data + stack, " bytes\n");
    print_number("code: ", (unsigned long)((uintptr_t)&_ecode + ((uintptr_t)&_edata - (uintptr_t)&_sdata)),
                 " bytes, data tables apart\n");
    print_number("instructions per timer tick: ", per_tick, "\n");
    print_number("instructions per training sample: ",
                 (unsigned long)((uint64_t)train_ticks * per_tick / ((uint64_t)fine_tuning.epochs * TUNE)), "\n");
    print_number("instructions per evaluated sample: ", (unsigned long)((uint64_t)eval_ticks * per_tick / TUNE), "\n");
    return 0;
}
