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

/* Writes a file on the host (SYS_OPEN in mode "wb", SYS_WRITE, SYS_CLOSE),
 * relative to qemu's working directory: 1 on success. */
static inline int semihost_write_file(const char *name, const void *bytes, unsigned long n) {
    unsigned long open[3], write[3], close[1];
    int handle, ok;
    open[0] = (unsigned long)name;
    open[1] = 5; /* "wb" */
    open[2] = 0;
    while (name[open[2]]) open[2]++;
    handle = semihost(0x01, open);
    if (handle < 0) return 0;
    write[0] = (unsigned long)handle;
    write[1] = (unsigned long)bytes;
    write[2] = n;
    ok = semihost(0x05, write) == 0; /* the count of bytes not written */
    close[0] = (unsigned long)handle;
    return semihost(0x02, close) == 0 && ok;
}

/* SYS_EXIT: ADP_Stopped_ApplicationExit makes qemu exit 0, anything else 1. */
__attribute__((noreturn)) static inline void semihost_exit(int success) {
    semihost(0x18, (const void *)(success ? 0x20026 : 0x20024));
    for (;;) {
    }
}

#endif
