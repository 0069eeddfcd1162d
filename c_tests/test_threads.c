/* Several threads call all six kernels at once while another switches the
 * ISA with qat_set_isa; every result must equal the single-threaded one
 * (all paths give the same bits). */
#include <pthread.h>

#include "reference.h"

enum { WORKERS = 4, NUMEL = 4096, GROUPS = 32, ROWS = 16 };

static qat_bf16 g[NUMEL], x[NUMEL], s[GROUPS], o[GROUPS];
/* Expected outputs, computed single-threaded on the scalar path. */
static qat_bf16 e_out[3][NUMEL], e_gw[3][NUMEL], e_gs[3][GROUPS], e_go[GROUPS];
static volatile int stop = 0;
static int iterations = 300;

static void run_all(qat_bf16 out[3][NUMEL], qat_bf16 gw[3][NUMEL], qat_bf16 gs[3][GROUPS], qat_bf16 *go) {
    int ok = 1;
    ok &= qat_asymmetric_per_group(x, s, o, out[0], NUMEL, NUMEL / GROUPS, 4, 1e-4f, 0.99f) == QAT_OK;
    ok &= qat_asymmetric_per_group_backward(g, x, s, o, gw[0], gs[0], go, NUMEL, NUMEL / GROUPS, 4, 1e-4f, 0.99f) == QAT_OK;
    ok &= qat_symmetric_per_channel(x, s, out[1], ROWS, NUMEL / ROWS, 1e-4f, -8, 7) == QAT_OK;
    ok &= qat_symmetric_per_channel_backward(g, x, s, gw[1], gs[1], ROWS, NUMEL / ROWS, 1e-4f, -8, 7) == QAT_OK;
    ok &= qat_symmetric_per_tensor(x, s, out[2], NUMEL, 1e-4f, -128, 127) == QAT_OK;
    ok &= qat_symmetric_per_tensor_backward(g, x, s, gw[2], gs[2], NUMEL, 1e-4f, -128, 127) == QAT_OK;
    CHECK(ok, "a call failed");
}

static void *worker(void *arg) {
    static qat_bf16 out[WORKERS][3][NUMEL], gw[WORKERS][3][NUMEL], gs[WORKERS][3][GROUPS], go[WORKERS][GROUPS];
    int id = (int)(size_t)arg, it, mismatches = 0;
    for (it = 0; it < iterations; it++) {
        run_all(out[id], gw[id], gs[id], go[id]);
        mismatches += memcmp(out[id], e_out, sizeof e_out) != 0 || memcmp(gw[id], e_gw, sizeof e_gw) != 0 ||
                      memcmp(go[id], e_go, sizeof e_go) != 0 || memcmp(gs[id][0], e_gs[0], sizeof e_gs[0]) != 0 ||
                      memcmp(gs[id][1], e_gs[1], ROWS * sizeof(qat_bf16)) != 0 || gs[id][2][0] != e_gs[2][0];
    }
    return (void *)(size_t)mismatches;
}

static void *switcher(void *arg) {
    int32_t isas[4];
    int n = available_isas(isas), i = 0;
    (void)arg;
    while (!stop) {
        CHECK(qat_set_isa(isas[i % n]) == QAT_OK, "set_isa");
        CHECK(qat_active_isa() != QAT_ISA_AUTO, "active");
        i++;
    }
    return NULL;
}

int main(void) {
    pthread_t threads[WORKERS], sw;
    size_t i;
    const char *env = getenv("QAT_THREAD_ITERATIONS");
    if (env) iterations = atoi(env);
    for (i = 0; i < NUMEL; i++) { x[i] = rng_bf16(-0.1, 0.1); g[i] = rng_bf16(-1, 1); }
    for (i = 0; i < GROUPS; i++) { s[i] = rng_bf16(1e-3, 2e-2); o[i] = rng_bf16(-0.01, 0.01); }
    qat_set_isa(QAT_ISA_SCALAR);
    run_all(e_out, e_gw, e_gs, e_go);

    if (pthread_create(&sw, NULL, switcher, NULL)) return 2;
    for (i = 0; i < WORKERS; i++)
        if (pthread_create(&threads[i], NULL, worker, (void *)i)) return 2;
    for (i = 0; i < WORKERS; i++) {
        void *mismatches;
        pthread_join(threads[i], &mismatches);
        CHECK(mismatches == NULL, "worker %zu: %zu mismatching iterations", i, (size_t)mismatches);
    }
    stop = 1;
    pthread_join(sw, NULL);
    qat_set_isa(QAT_ISA_AUTO);
    printf("test_threads (%d workers x %d iterations, ISA switching): %s\n", WORKERS, iterations, failures ? "FAILED" : "ok");
    return failures != 0;
}
