/* Several threads call every entry point (entry_points.h, the registry) at
 * once while another switches the ISA with qat_set_isa; every output must
 * equal the single-threaded one (all paths give the same bits). */
#include <pthread.h>

#include "reference.h"
#include "registry.h"

enum { WORKERS = 4 };

typedef struct {
    void *p[EP_MAX_BUFFERS];
    size_t bytes[EP_MAX_BUFFERS];
} buffers;

static ep_args args[ENTRY_POINTS_LEN];
/* The inputs, shared by every thread (only read), with the expected
   outputs, computed single-threaded on the scalar path. */
static buffers shared[ENTRY_POINTS_LEN];
static volatile int stop = 0;
static int iterations = 300;

/* Buffers for entry point e: the shared inputs, and outputs of its own. */
static buffers outputs_of(int e) {
    const entry_point *ep = &ENTRY_POINTS[e];
    buffers b = shared[e];
    int i;
    for (i = 0; i < ep->buffers_len; i++)
        if (ep->buffers[i].output) b.p[i] = calloc(1, b.bytes[i] + 1);
    return b;
}

/* Calls every entry point into b; the number of outputs unlike the expected. */
static int call_all(buffers *b) {
    int e, i, mismatches = 0;
    for (e = 0; e < ENTRY_POINTS_LEN; e++) {
        const entry_point *ep = &ENTRY_POINTS[e];
        CHECK(ep->call(b[e].p, &args[e]) == QAT_OK, "%s", ep->name);
        for (i = 0; i < ep->buffers_len; i++)
            if (ep->buffers[i].output) mismatches += memcmp(b[e].p[i], shared[e].p[i], b[e].bytes[i]) != 0;
    }
    return mismatches;
}

static void *worker(void *arg) {
    buffers b[ENTRY_POINTS_LEN];
    int e, i, it, mismatches = 0;
    (void)arg;
    for (e = 0; e < ENTRY_POINTS_LEN; e++) b[e] = outputs_of(e);
    for (it = 0; it < iterations; it++) mismatches += call_all(b);
    for (e = 0; e < ENTRY_POINTS_LEN; e++)
        for (i = 0; i < ENTRY_POINTS[e].buffers_len; i++)
            if (ENTRY_POINTS[e].buffers[i].output) free(b[e].p[i]);
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
    uint64_t state = 7;
    size_t counts[EP_MAX_BUFFERS];
    int e, i;
    const char *env = getenv("QAT_THREAD_ITERATIONS");
    if (env) iterations = atoi(env);
    qat_set_isa(QAT_ISA_SCALAR);
    for (e = 0; e < ENTRY_POINTS_LEN; e++) {
        const entry_point *ep = &ENTRY_POINTS[e];
        args[e] = ep_typical_args(ep);
        ep_counts(ep, &args[e], counts);
        for (i = 0; i < ep->buffers_len; i++) {
            shared[e].bytes[i] = counts[i] * ep_elem_size(ep->buffers[i].elem);
            shared[e].p[i] = calloc(1, shared[e].bytes[i] + 1);
            if (!ep->buffers[i].output) ep_fill_valid(ep->buffers[i].elem, shared[e].p[i], counts[i], &state);
        }
        CHECK(ep->call(shared[e].p, &args[e]) == QAT_OK, "%s", ep->name);
    }

    if (pthread_create(&sw, NULL, switcher, NULL)) return 2;
    for (i = 0; i < WORKERS; i++)
        if (pthread_create(&threads[i], NULL, worker, NULL)) return 2;
    for (i = 0; i < WORKERS; i++) {
        void *mismatches;
        pthread_join(threads[i], &mismatches);
        CHECK(mismatches == NULL, "worker %d: %zu mismatching outputs", i, (size_t)mismatches);
    }
    stop = 1;
    pthread_join(sw, NULL);
    qat_set_isa(QAT_ISA_AUTO);
    for (e = 0; e < ENTRY_POINTS_LEN; e++)
        for (i = 0; i < ENTRY_POINTS[e].buffers_len; i++) free(shared[e].p[i]);
    printf("test_threads (%d entry points, %d workers x %d iterations, ISA switching): %s\n", ENTRY_POINTS_LEN,
           WORKERS, iterations, failures ? "FAILED" : "ok");
    return failures != 0;
}
