/* Guard pages: every input and output buffer of every kernel is placed so
 * that it ends exactly at a page boundary followed by a PROT_NONE page (and,
 * in a second pass, starts right after one). Any read or write past a buffer
 * faults and kills the test. Runs on every ISA the CPU offers. */
#define _DEFAULT_SOURCE
#include <sys/mman.h>
#include <unistd.h>

#include "reference.h"

typedef struct { unsigned char *base; size_t size; qat_bf16 *data; unsigned char *bytes; } guarded;

static size_t page;

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
    g.data = (qat_bf16 *)g.bytes;
    return g;
}

/* n bf16 values against a PROT_NONE page, random. */
static guarded guarded_alloc(size_t n, int at_end) {
    guarded g = guarded_bytes(n * sizeof(qat_bf16), at_end);
    size_t i;
    for (i = 0; i < n; i++) g.data[i] = rng_bf16(-0.3, 0.3);
    return g;
}

static void guarded_free(guarded g) { munmap(g.base, g.size); }

static void one_length(size_t n, int at_end) {
    /* Per group: three groups when n allows, else one; per channel: two rows when even. */
    size_t size = n == 0 ? 1 : (n % 3 == 0 ? n / 3 : n), groups = n / size;
    size_t rows = (n % 2 == 0 && n) ? 2 : 1, cols = n / rows;
    guarded g = guarded_alloc(n, at_end), x = guarded_alloc(n, at_end), out = guarded_alloc(n, at_end);
    guarded s = guarded_alloc(groups, at_end), o = guarded_alloc(groups, at_end);
    guarded gs = guarded_alloc(groups, at_end), go = guarded_alloc(groups, at_end);
    guarded cs = guarded_alloc(rows, at_end), cgs = guarded_alloc(rows, at_end);
    guarded ts = guarded_alloc(1, at_end), tgs = guarded_alloc(1, at_end);
    size_t i;
    for (i = 0; i < groups; i++) s.data[i] = narrow(0.02f);
    for (i = 0; i < rows; i++) cs.data[i] = narrow(0.01f);
    ts.data[0] = narrow(0.01f);

    CHECK(qat_asymmetric_per_group(x.data, s.data, o.data, out.data, n, size, 4, 1e-4f, 0.99f) == QAT_OK, "n %zu", n);
    CHECK(qat_asymmetric_per_group_backward(g.data, x.data, s.data, o.data, out.data, gs.data, go.data, n, size, 4,
                                            1e-4f, 0.99f) == QAT_OK, "n %zu", n);
    CHECK(qat_symmetric_per_channel(x.data, cs.data, out.data, rows, cols, 1e-4f, -8, 7) == QAT_OK, "n %zu", n);
    CHECK(qat_symmetric_per_channel_backward(g.data, x.data, cs.data, out.data, cgs.data, rows, cols, 1e-4f, -8, 7)
          == QAT_OK, "n %zu", n);
    CHECK(qat_symmetric_per_tensor(x.data, ts.data, out.data, n, 1e-4f, -128, 127) == QAT_OK, "n %zu", n);
    CHECK(qat_symmetric_per_tensor_backward(g.data, x.data, ts.data, out.data, tgs.data, n, 1e-4f, -128, 127) == QAT_OK,
          "n %zu", n);
    /* Export to codes, their values, and packing, with byte buffers against
       the guards too. */
    {
        guarded codes = guarded_bytes(n, at_end), packed = guarded_bytes(qat_packed_size(n, 4), at_end);
        int8_t *signed_codes = (int8_t *)codes.bytes;
        CHECK(qat_asymmetric_per_group_quantize(x.data, s.data, o.data, codes.bytes, n, size, 4, 1e-4f, 0.99f) ==
                  QAT_OK, "n %zu", n);
        CHECK(qat_pack_codes(codes.bytes, n, 4, packed.bytes) == QAT_OK, "n %zu", n);
        CHECK(qat_unpack_codes(packed.bytes, n, 4, codes.bytes) == QAT_OK, "n %zu", n);
        CHECK(qat_asymmetric_per_group_dequantize(codes.bytes, s.data, o.data, out.data, n, size, 4, 1e-4f, 0.99f) ==
                  QAT_OK, "n %zu", n);
        CHECK(qat_symmetric_per_channel_quantize(x.data, cs.data, signed_codes, rows, cols, 1e-4f, -8, 7) == QAT_OK,
              "n %zu", n);
        CHECK(qat_pack_signed_codes(signed_codes, n, 4, packed.bytes) == QAT_OK, "n %zu", n);
        CHECK(qat_unpack_signed_codes(packed.bytes, n, 4, signed_codes) == QAT_OK, "n %zu", n);
        CHECK(qat_symmetric_per_channel_dequantize(signed_codes, cs.data, out.data, rows, cols, 1e-4f, -8, 7) ==
                  QAT_OK, "n %zu", n);
        CHECK(qat_symmetric_per_tensor_quantize(x.data, ts.data, signed_codes, n, 1e-4f, -128, 127) == QAT_OK,
              "n %zu", n);
        CHECK(qat_symmetric_per_tensor_dequantize(signed_codes, ts.data, out.data, n, 1e-4f, -128, 127) == QAT_OK,
              "n %zu", n);
        guarded_free(codes);
        guarded_free(packed);
    }

    /* In place, against the guards as well. */
    CHECK(qat_symmetric_per_tensor(x.data, ts.data, x.data, n, 1e-4f, -128, 127) == QAT_OK, "n %zu", n);
    CHECK(qat_asymmetric_per_group_backward(g.data, x.data, s.data, o.data, g.data, s.data, o.data, n, size, 4, 1e-4f,
                                            0.99f) == QAT_OK, "n %zu", n);

    guarded_free(g); guarded_free(x); guarded_free(out); guarded_free(s); guarded_free(o);
    guarded_free(gs); guarded_free(go); guarded_free(cs); guarded_free(cgs); guarded_free(ts); guarded_free(tgs);
}

int main(void) {
    static const size_t large[] = {4095, 4096, 4097, 8191, 65536 + 7, 300000};
    int32_t isas[4];
    int n_isas, i, at_end;
    size_t n, k;
    page = (size_t)sysconf(_SC_PAGESIZE);
    n_isas = available_isas(isas);
    for (i = 0; i < n_isas; i++) {
        qat_set_isa(isas[i]);
        for (at_end = 0; at_end < 2; at_end++) {
            for (n = 0; n <= 300; n++) one_length(n, at_end);
            for (k = 0; k < sizeof large / sizeof large[0]; k++) one_length(large[k], at_end);
        }
    }
    qat_set_isa(QAT_ISA_AUTO);
    printf("test_guard (%d ISAs, lengths 0..300 and large, both guard sides): %s\n", n_isas, failures ? "FAILED" : "ok");
    return failures != 0;
}
