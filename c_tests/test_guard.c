/* Guard pages: every buffer of every entry point (entry_points.h, the
 * registry) is placed so that it ends exactly at a page boundary followed by
 * a PROT_NONE page (and, in a second pass, starts right after one). Any read
 * or write past a buffer faults and kills the test. Each call runs once with
 * separate buffers and once in place (each output that can be exactly an
 * input, is), over lengths 0..300 and some large ones, on every ISA the CPU
 * offers. */
#define _DEFAULT_SOURCE
#include <sys/mman.h>
#include <unistd.h>

#include "reference.h"
#include "registry.h"

typedef struct { unsigned char *base; size_t size; unsigned char *bytes; } guarded;

static size_t page;
static uint64_t state = 1;

/* n bytes against a PROT_NONE page: after them (at_end) or before them. */
static guarded guarded_bytes(size_t bytes, int at_end) {
    guarded g;
    size_t pages = (bytes + page - 1) / page + 2;
    g.size = pages * page;
    g.base = mmap(NULL, g.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g.base == MAP_FAILED) { perror("mmap"); exit(2); }
    if (mprotect(g.base, page, PROT_NONE) || mprotect(g.base + g.size - page, page, PROT_NONE)) {
        perror("mprotect");
        exit(2);
    }
    g.bytes = at_end ? g.base + g.size - page - bytes : g.base + page;
    return g;
}

static void one_call(const entry_point *ep, size_t n, int at_end, int in_place) {
    ep_args a = ep_args_of_length(ep, n);
    size_t counts[EP_MAX_BUFFERS];
    guarded g[EP_MAX_BUFFERS];
    void *p[EP_MAX_BUFFERS];
    int used[EP_MAX_BUFFERS] = {0};
    int i, j;
    ep_counts(ep, &a, counts);
    for (i = 0; i < ep->buffers_len; i++) {
        g[i] = guarded_bytes(counts[i] * ep_elem_size(ep->buffers[i].elem), at_end);
        ep_fill_valid(ep->buffers[i].elem, g[i].bytes, counts[i], &state);
        p[i] = g[i].bytes;
    }
    /* In place: an output takes the buffer of the first unused input of the
       same count and element size. */
    for (j = 0; in_place && j < ep->buffers_len; j++) {
        if (!ep->buffers[j].output) continue;
        for (i = 0; i < ep->buffers_len; i++) {
            if (ep->buffers[i].output || used[i] || counts[i] != counts[j] ||
                ep_elem_size(ep->buffers[i].elem) != ep_elem_size(ep->buffers[j].elem))
                continue;
            used[i] = 1;
            p[j] = p[i];
            break;
        }
    }
    CHECK(ep->call(p, &a) == QAT_OK, "%s: n %zu, %s guard, %s", ep->name, n, at_end ? "end" : "start",
          in_place ? "in place" : "separate");
    for (i = 0; i < ep->buffers_len; i++) munmap(g[i].base, g[i].size);
}

int main(void) {
    static const size_t large[] = {4095, 4096, 4097, 8191, 65536 + 7, 300000};
    int32_t isas[4];
    int n_isas, i, e, at_end, in_place;
    size_t n, k;
    page = (size_t)sysconf(_SC_PAGESIZE);
    n_isas = available_isas(isas);
    for (i = 0; i < n_isas; i++) {
        qat_set_isa(isas[i]);
        for (e = 0; e < ENTRY_POINTS_LEN; e++)
            for (at_end = 0; at_end < 2; at_end++)
                for (in_place = 0; in_place < 2; in_place++) {
                    for (n = 0; n <= 300; n++) one_call(&ENTRY_POINTS[e], n, at_end, in_place);
                    for (k = 0; k < sizeof large / sizeof large[0]; k++)
                        one_call(&ENTRY_POINTS[e], large[k], at_end, in_place);
                }
    }
    qat_set_isa(QAT_ISA_AUTO);
    printf("test_guard (%d entry points, %d ISAs, lengths 0..300 and large, both guard sides, separate and in "
           "place): %s\n", ENTRY_POINTS_LEN, n_isas, failures ? "FAILED" : "ok");
    return failures != 0;
}
