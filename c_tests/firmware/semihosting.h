/* ARM semihosting, as qemu implements it with -semihosting-config enable=on. */
#ifndef SEMIHOSTING_H
#define SEMIHOSTING_H

static inline int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static inline void semihost_print(const char *s) { semihost(0x04, s); /* SYS_WRITE0 */ }

/* SYS_EXIT: ADP_Stopped_ApplicationExit makes qemu exit 0, anything else 1. */
__attribute__((noreturn)) static inline void semihost_exit(int success) {
    semihost(0x18, (const void *)(success ? 0x20026 : 0x20024));
    for (;;) {
    }
}

#endif
