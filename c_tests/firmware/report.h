/* What the firmware tests share: failures counted and reported over
 * semihosting, the stack high-water mark of a call (paint the stack, call,
 * scan), and FPSCR. */
#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "semihosting.h"

#define PAINT 0xC5C5C5C5u
#define PAINT_WORDS 2048 /* 8 KiB below the stack pointer */

static int failures;
static char line[96];

static inline void print_number(const char *before, unsigned long n, const char *after) {
    char digits[12];
    int k = 0;
    size_t len;
    do digits[k++] = (char)('0' + n % 10); while ((n /= 10) && k < 11);
    strcpy(line, before);
    len = strlen(line);
    while (k) line[len++] = digits[--k];
    line[len] = '\0';
    strcat(line, after);
    semihost_print(line);
}

static inline void check(int ok, const char *what) {
    if (!ok) {
        failures++;
        semihost_print("FAILED: ");
        semihost_print(what);
        semihost_print("\n");
    }
}

static inline int same_bytes(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

static uint32_t *stack_top;
static unsigned long stack_max;

/* Paints the stack below the current stack pointer. Inline so that it runs in
 * main's own frame: nothing below the stack pointer is live. */
#define PAINT_STACK()                                                             \
    do {                                                                          \
        volatile uint32_t *p_;                                                    \
        __asm__ volatile("mov %0, sp" : "=r"(stack_top));                        \
        for (p_ = stack_top - PAINT_WORDS; p_ < stack_top; p_++) *p_ = PAINT;     \
    } while (0)

/* Bytes of stack the last call used: from the lowest word it changed up. */
static inline unsigned long stack_used(void) {
    const volatile uint32_t *p = stack_top - PAINT_WORDS;
    unsigned long used;
    while (p < stack_top && *p == PAINT) p++;
    used = (unsigned long)((const uint32_t *)stack_top - (const uint32_t *)p) * 4;
    check(p > stack_top - PAINT_WORDS, "stack paint overrun");
    if (used > stack_max) stack_max = used;
    return used;
}

#ifdef __ARM_FP
static inline uint32_t get_fpscr(void) {
    uint32_t v;
    __asm__ volatile("vmrs %0, fpscr" : "=r"(v));
    return v;
}
static inline void set_fpscr(uint32_t v) { __asm__ volatile("vmsr fpscr, %0" : : "r"(v) : "memory"); }
#endif

#endif
