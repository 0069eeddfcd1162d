/* Minimal Cortex-M start-up for qemu's mps2-an386 (M4F) and mps2-an385 (M3,
 * running the ARMv6-M build): vector table, .data and .bss set-up, the FPU
 * enabled where there is one, semihosting for output and the exit status. */
#include <stdint.h>

#include "semihosting.h"

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
int main(void);

void Reset_Handler(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
#ifdef __ARM_FP
    /* CPACR: full access to CP10 and CP11, the FPU (the library is hard-float). */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    __asm__ volatile("dsb\n isb");
#endif
    semihost_exit(main() == 0);
}

static void Fault_Handler(void) {
    semihost_print("firmware: fault\n");
    semihost_exit(0);
}

__attribute__((section(".isr_vector"), used)) void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&_estack, Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler, Fault_Handler,
};
