/* Built twice, once with -ffast-math (which links code that sets FTZ and
 * DAZ at start-up on x86) and once without: both builds must print the same
 * bits for every kernel on subnormal-heavy data, ties, NaN and infinities.
 * Prints one line: the floating-point mode seen at start, then a hash of
 * every output. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "qat_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
static unsigned mode(void) {
    unsigned csr;
    __asm__ volatile("stmxcsr %0" : "=m"(csr));
    return csr & 0x8040; /* FTZ | DAZ */
}
#else
static unsigned mode(void) { return 0; }
#endif

#define N 1024
#define GROUP 32
static qat_bf16 x[N], g[N], out[N], gw[N], s[N / GROUP], o[N / GROUP], gs[N / GROUP], go[N / GROUP];
static uint64_t hash = 1469598103934665603u;

static void mix(const qat_bf16 *v, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) hash = (hash ^ v[i]) * 1099511628211u;
}

int main(void) {
    static const qat_bf16 specials[] = {0x0001, 0x8011, 0x007F, 0x8080, 0x7F80, 0xFF80, 0x7FC0, 0x3E9A, 0x0000, 0x8000};
    size_t i;
    unsigned seen = mode();
    for (i = 0; i < N; i++) {
        x[i] = (i % 3 == 0) ? specials[i % 10] : (qat_bf16)((i % 2 ? 0x8000 : 0) | (i * 7 % 0x3F80));
        g[i] = (qat_bf16)(i % 5 == 0 ? 0x0003 : 0x3F80 + (i % 13));
    }
    for (i = 0; i < N / GROUP; i++) {
        s[i] = (qat_bf16)(i % 2 ? 0x00C4 : 0x3D80); /* subnormal and 0.0625 */
        o[i] = (qat_bf16)(i % 2 ? 0x00CA : 0x0000);
    }
    if (qat_asymmetric_per_group(x, s, o, out, N, GROUP, 4, 1e-45f, 0.99f) != QAT_OK) return 1;
    mix(out, N);
    if (qat_asymmetric_per_group_backward(g, x, s, o, gw, gs, go, N, GROUP, 4, 1e-45f, 0.99f) != QAT_OK) return 1;
    mix(gw, N), mix(gs, N / GROUP), mix(go, N / GROUP);
    if (qat_symmetric_per_channel(x, s, out, N / GROUP, GROUP, 1e-45f, -8, 7) != QAT_OK) return 1;
    mix(out, N);
    if (qat_symmetric_per_channel_backward(g, x, s, gw, gs, N / GROUP, GROUP, 1e-45f, -8, 7) != QAT_OK) return 1;
    mix(gw, N), mix(gs, N / GROUP);
    if (qat_symmetric_per_tensor(x, s + 1, out, N, 1e-45f, -128, 127) != QAT_OK) return 1;
    mix(out, N);
    if (qat_symmetric_per_tensor_backward(g, x, s + 1, gw, gs, N, 1e-45f, -128, 127) != QAT_OK) return 1;
    mix(gw, N), mix(gs, 1);
    printf("mode %#x hash %016llx\n", seen, (unsigned long long)hash);
    return 0;
}
