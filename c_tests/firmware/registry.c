/* Every entry point of the registry on the Cortex-M: the list in
 * c_tests/entry_points.h, generated from the Rust tests' registry, so no
 * entry point can be left out. For each, at sizes with tails (registry.h)
 * and inputs that pass every check:
 * - QAT_OK, and the canary bytes after every buffer intact;
 * - (M4F) the same output bytes under every FPSCR mode, FPSCR restored;
 * - each buffer in turn null, then (wider than a byte) misaligned:
 *   QAT_ERR_POINTER with every output untouched, and the refusal handler
 *   given the buffer's name and the rule ("weight is null ...");
 * and the stack high-water mark over all of them. */
#include "../registry.h"
#include "report.h"

enum { CANARY = 16, ARENA = 160 * 1024 };

static uint64_t arena_words[ARENA / 8];
static unsigned char first[ARENA];
static int calls;

static unsigned char *const arena = (unsigned char *)arena_words;

/* The last refusal, as the library's handler gave it, and its words
 * (static: not on the stack the figure measures). */
static qat_refusal last;
static char words[160];

static void keep(const qat_refusal *refusal) { last = *refusal; }

/* Whether the last refusal was status, named the buffer and said rule. */
static int refused(int32_t status, const char *buffer, const char *rule) {
    size_t n = strlen(buffer);
    qat_refusal_message(&last, words, sizeof words);
    return last.status == status && strncmp(words, buffer, n) == 0 && words[n] == ' ' &&
           strstr(words, rule) != NULL;
}

typedef struct {
    void *p[EP_MAX_BUFFERS];
    size_t bytes[EP_MAX_BUFFERS];
    size_t end;
} layout;

/* Each buffer 8-aligned in the arena, followed by CANARY bytes of 0xA5. */
static layout lay_out(const entry_point *ep, const ep_args *a) {
    size_t counts[EP_MAX_BUFFERS], at = 0;
    layout l;
    int i;
    ep_counts(ep, a, counts);
    for (i = 0; i < ep->buffers_len; i++) {
        l.bytes[i] = counts[i] * ep_elem_size(ep->buffers[i].elem);
        l.p[i] = arena + at;
        at += (l.bytes[i] + CANARY + 7) & ~(size_t)7;
    }
    l.end = at;
    check(at <= ARENA, "the arena holds every entry point's buffers");
    return l;
}

/* Outputs painted 0x5A, canaries 0xA5. */
static void paint_outputs(const entry_point *ep, const layout *l) {
    int i;
    for (i = 0; i < ep->buffers_len; i++) {
        if (ep->buffers[i].output) memset(l->p[i], 0x5A, l->bytes[i]);
        memset((unsigned char *)l->p[i] + l->bytes[i], 0xA5, CANARY);
    }
}

static int outputs_painted(const entry_point *ep, const layout *l) {
    int i;
    size_t k;
    for (i = 0; i < ep->buffers_len; i++)
        if (ep->buffers[i].output)
            for (k = 0; k < l->bytes[i]; k++)
                if (((unsigned char *)l->p[i])[k] != 0x5A) return 0;
    return 1;
}

static int canaries_intact(const entry_point *ep, const layout *l) {
    int i, k;
    for (i = 0; i < ep->buffers_len; i++)
        for (k = 0; k < CANARY; k++)
            if (((unsigned char *)l->p[i])[l->bytes[i] + k] != 0xA5) return 0;
    return 1;
}

static int32_t call(const entry_point *ep, void *const *p, const ep_args *a) {
    int32_t status;
    calls++;
    PAINT_STACK();
    status = ep->call(p, a);
    stack_used();
    return status;
}

static void run(const entry_point *ep) {
    ep_args a = ep_typical_args(ep);
    layout l = lay_out(ep, &a);
    uint64_t state = 1;
    size_t counts[EP_MAX_BUFFERS];
    int i;
    if (l.end > ARENA) return;
    ep_counts(ep, &a, counts);
    for (i = 0; i < ep->buffers_len; i++)
        if (!ep->buffers[i].output) ep_fill_valid(ep->buffers[i].elem, l.p[i], counts[i], &state);
    paint_outputs(ep, &l);
    check(call(ep, l.p, &a) == QAT_OK, ep->name);
    check(canaries_intact(ep, &l), "canaries after every buffer");
    memcpy(first, arena, l.end);

#ifdef __ARM_FP
    {
        /* Flush-to-zero, default NaN, each rounding mode, sticky flags. */
        static const uint32_t modes[] = {1u << 24, 1u << 25, 1u << 22, 2u << 22, 3u << 22,
                                         (1u << 24) | (1u << 25) | (3u << 22) | 0x9Fu};
        size_t m;
        for (m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            int32_t status;
            paint_outputs(ep, &l);
            set_fpscr(modes[m]);
            status = call(ep, l.p, &a);
            check(get_fpscr() == modes[m], "FPSCR restored");
            set_fpscr(0);
            check(status == QAT_OK && memcmp(first, arena, l.end) == 0, "the same bytes under every FPSCR mode");
        }
    }
#endif

    /* Each pointer null, then misaligned: refused, nothing written. */
    for (i = 0; i < ep->buffers_len; i++) {
        void *p[EP_MAX_BUFFERS];
        if (l.bytes[i] == 0) continue;
        memcpy(p, l.p, sizeof p);
        p[i] = NULL;
        paint_outputs(ep, &l);
        check(call(ep, p, &a) == QAT_ERR_POINTER && outputs_painted(ep, &l), "a null buffer is refused");
        check(refused(QAT_ERR_POINTER, ep->buffers[i].name, "is null"), "a null buffer is named");
        if (ep_elem_size(ep->buffers[i].elem) > 1) {
            p[i] = (unsigned char *)l.p[i] + 1;
            paint_outputs(ep, &l);
            check(call(ep, p, &a) == QAT_ERR_POINTER && outputs_painted(ep, &l),
                  "a misaligned buffer is refused");
            check(refused(QAT_ERR_POINTER, ep->buffers[i].name, "is not aligned"), "a misaligned buffer is named");
        }
    }
}

int main(void) {
    int e, before;
    check(qat_set_refusal_handler(keep) == NULL, "no handler before");
    semihost_print("registry firmware: qat-kernels ");
    semihost_print(qat_version());
    semihost_print("\n");
    for (e = 0; e < ENTRY_POINTS_LEN; e++) {
        before = failures;
        run(&ENTRY_POINTS[e]);
        if (failures != before) {
            semihost_print("  in ");
            semihost_print(ENTRY_POINTS[e].name);
            semihost_print("\n");
        }
    }
    print_number("registry: ", (unsigned long)ENTRY_POINTS_LEN, " entry points, ");
    print_number("", (unsigned long)calls, " calls\n");
    print_number("registry stack: ", stack_max, " bytes\n");
    print_number(failures ? "registry firmware: FAILED, " : "registry firmware: all passed, ",
                 (unsigned long)failures, " failures\n");
    return failures;
}
