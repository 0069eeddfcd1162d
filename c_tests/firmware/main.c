/* Firmware test, run on an emulated Cortex-M4F (and, built for ARMv6-M with
 * soft-float, on the Cortex-M3 of mps2-an385, which runs every v6-M
 * instruction): every training kernel, the
 * export to integer codes with their packing, and the per-token activation
 * kernels, on golden
 * vectors computed on the host (vectors.h), checked bit for bit; bad inputs
 * with their status codes and untouched outputs; and the stack high-water
 * mark of every kernel call (paint the stack, call, scan). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "qat_kernels.h"
#include "report.h"
#include "vectors.h"

static int same(const qat_bf16 *a, const qat_bf16 *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

static qat_bf16 out[AN], gw[AN], gs[AG], go[AG];
static uint8_t codes[AN], packed[AN];
static int8_t signed_codes[AN];

/* The stack a kernel call used, printed. */
static void measure(const char *kernel) {
    semihost_print("  ");
    print_number(kernel, stack_used(), " bytes of stack\n");
}

#ifdef __ARM_FP
/* The training kernels and the per-token ones with FPSCR set to `fpscr` by the
 * caller: the same golden bits, and FPSCR exactly as it was after each call. */
static void golden_under(uint32_t fpscr, const char *what) {
    int ok = 1;
    set_fpscr(fpscr);
    ok &= qat_asymmetric_per_group(x, s, o, out, AN, AS, 3, 1e-4f, 0.95f) == QAT_OK && get_fpscr() == fpscr;
    ok &= same(out, asym_out, AN);
    ok &= qat_asymmetric_per_group_backward(g, x, s, o, gw, gs, go, AN, AS, 3, 1e-4f, 0.95f) == QAT_OK &&
          get_fpscr() == fpscr;
    ok &= same(gw, asym_gw, AN) && same(gs, asym_gs, AG) && same(go, asym_go, AG);
    ok &= qat_symmetric_per_channel(x, s, out, CR, CC, 1e-4f, -8, 7) == QAT_OK && get_fpscr() == fpscr;
    ok &= same(out, chan_out, CN);
    ok &= qat_symmetric_per_channel_backward(g, x, s, gw, gs, CR, CC, 1e-4f, -8, 7) == QAT_OK && get_fpscr() == fpscr;
    ok &= same(gw, chan_gw, CN) && same(gs, chan_gs, CR);
    ok &= qat_symmetric_per_tensor(x, s + 2, out, TN, 1e-4f, -128, 127) == QAT_OK && get_fpscr() == fpscr;
    ok &= same(out, tens_out, TN);
    ok &= qat_symmetric_per_tensor_backward(g, x, s + 2, gw, gs, TN, 1e-4f, -128, 127) == QAT_OK &&
          get_fpscr() == fpscr;
    ok &= same(gw, tens_gw, TN) && same(gs, tens_gs, 1);
    {
        float ps[AG];
        int32_t pz[AG];
        ok &= qat_per_token_asymmetric(x, out, ps, pz, AG, AS, 8, 1e-6f) == QAT_OK && get_fpscr() == fpscr;
        ok &= same(out, tok_asym_out, AN) && same_bytes(ps, tok_asym_scale, sizeof ps);
        ok &= qat_per_token_backward(g, x, ps, pz, gw, AG, AS, 8) == QAT_OK && get_fpscr() == fpscr;
        ok &= same(gw, tok_asym_gx, AN);
    }
    /* A rejected call restores it too. */
    ok &= qat_symmetric_per_tensor(x, s, out, TN, 0.0f, -8, 7) == QAT_ERR_EPS && get_fpscr() == fpscr;
    set_fpscr(0);
    check(ok, what);
}
#endif

int main(void) {
    static const qat_bf16 sentinel[AN] = {0};
    int32_t st;

    semihost_print("firmware: qat-kernels ");
    semihost_print(qat_version());
#ifdef __ARM_FP
    semihost_print(" on Cortex-M4F\n");
#else
    semihost_print(" on ARMv6-M, soft-float\n");
#endif
    check(qat_active_isa() == QAT_ISA_SCALAR, "the portable path is the active one");
    check(qat_set_isa(QAT_ISA_AVX2) == QAT_ERR_UNSUPPORTED_ISA, "no AVX2 here");
    check(qat_set_isa(QAT_ISA_NEON) == QAT_ERR_UNSUPPORTED_ISA, "no NEON here");

    PAINT_STACK();
    st = qat_asymmetric_per_group(x, s, o, out, AN, AS, 3, 1e-4f, 0.95f);
    measure("qat_asymmetric_per_group: ");
    check(st == QAT_OK && same(out, asym_out, AN), "asymmetric per group");
    PAINT_STACK();
    st = qat_asymmetric_per_group_backward(g, x, s, o, gw, gs, go, AN, AS, 3, 1e-4f, 0.95f);
    measure("qat_asymmetric_per_group_backward: ");
    check(st == QAT_OK && same(gw, asym_gw, AN) && same(gs, asym_gs, AG) && same(go, asym_go, AG),
          "asymmetric per group backward");
    PAINT_STACK();
    st = qat_symmetric_per_channel(x, s, out, CR, CC, 1e-4f, -8, 7);
    measure("qat_symmetric_per_channel: ");
    check(st == QAT_OK && same(out, chan_out, CN), "symmetric per channel");
    PAINT_STACK();
    st = qat_symmetric_per_channel_backward(g, x, s, gw, gs, CR, CC, 1e-4f, -8, 7);
    measure("qat_symmetric_per_channel_backward: ");
    check(st == QAT_OK && same(gw, chan_gw, CN) && same(gs, chan_gs, CR), "symmetric per channel backward");
    PAINT_STACK();
    st = qat_symmetric_per_tensor(x, s + 2, out, TN, 1e-4f, -128, 127);
    measure("qat_symmetric_per_tensor: ");
    check(st == QAT_OK && same(out, tens_out, TN), "symmetric per tensor");
    PAINT_STACK();
    st = qat_symmetric_per_tensor_backward(g, x, s + 2, gw, gs, TN, 1e-4f, -128, 127);
    measure("qat_symmetric_per_tensor_backward: ");
    check(st == QAT_OK && same(gw, tens_gw, TN) && same(gs, tens_gs, 1), "symmetric per tensor backward");

    /* Export: codes, packing, and the values of codes (the forward pass's bits). */
    PAINT_STACK();
    st = qat_asymmetric_per_group_quantize(xq, s, o, codes, AN, AS, 3, 1e-4f, 0.95f);
    measure("qat_asymmetric_per_group_quantize: ");
    check(st == QAT_OK && same_bytes(codes, asym_codes, AN), "asymmetric per group codes");
    PAINT_STACK();
    st = qat_pack_codes(codes, AN, 4, packed);
    measure("qat_pack_codes: ");
    check(st == QAT_OK && same_bytes(packed, asym_packed, sizeof asym_packed), "packed codes");
    memset(codes, 0, sizeof codes);
    PAINT_STACK();
    st = qat_unpack_codes(packed, AN, 4, codes);
    measure("qat_unpack_codes: ");
    check(st == QAT_OK && same_bytes(codes, asym_codes, AN), "unpacked codes");
    PAINT_STACK();
    st = qat_asymmetric_per_group_dequantize(codes, s, o, out, AN, AS, 3, 1e-4f, 0.95f);
    measure("qat_asymmetric_per_group_dequantize: ");
    check(st == QAT_OK && same(out, asym_values, AN), "asymmetric per group values of codes");
    check(qat_asymmetric_per_group(xq, s, o, gw, AN, AS, 3, 1e-4f, 0.95f) == QAT_OK && same(gw, out, AN),
          "values of codes are the forward pass");

    PAINT_STACK();
    st = qat_symmetric_per_channel_quantize(xq, s, signed_codes, CR, CC, 1e-4f, -8, 7);
    measure("qat_symmetric_per_channel_quantize: ");
    check(st == QAT_OK && same_bytes(signed_codes, chan_codes, CN), "symmetric per channel codes");
    check(qat_pack_signed_codes(signed_codes, CN, 4, packed) == QAT_OK &&
              same_bytes(packed, chan_packed, sizeof chan_packed),
          "packed signed codes");
    memset(signed_codes, 0, sizeof signed_codes);
    check(qat_unpack_signed_codes(packed, CN, 4, signed_codes) == QAT_OK &&
              same_bytes(signed_codes, chan_codes, CN),
          "unpacked signed codes");
    PAINT_STACK();
    st = qat_symmetric_per_channel_dequantize(signed_codes, s, out, CR, CC, 1e-4f, -8, 7);
    measure("qat_symmetric_per_channel_dequantize: ");
    check(st == QAT_OK && same(out, chan_values, CN), "symmetric per channel values of codes");
    check(qat_symmetric_per_tensor_quantize(xq, s + 2, signed_codes, TN, 1e-4f, -128, 127) == QAT_OK &&
              same_bytes(signed_codes, tens_codes, TN),
          "symmetric per tensor codes");
    check(qat_symmetric_per_tensor_dequantize(signed_codes, s + 2, out, TN, 1e-4f, -128, 127) == QAT_OK &&
              same(out, tens_values, TN),
          "symmetric per tensor values of codes");

    /* Calibration, against the host's parameters. */
    {
        qat_bf16 cs[AG], co[AG], chs[CR], ts[1];
        PAINT_STACK();
        st = qat_asymmetric_per_group_calibrate(xc, cs, co, AN, AS, 3, 1e-4f, 0.95f, QAT_CALIBRATE_SEARCH);
        measure("qat_asymmetric_per_group_calibrate: ");
        check(st == QAT_OK && same(cs, cal_scale, AG) && same(co, cal_offset, AG), "calibration per group");
        check(qat_asymmetric_per_group_calibrate(xc, cs, co, AN, AS, 3, 1e-4f, 0.95f, QAT_CALIBRATE_LSQ) == QAT_OK &&
                  same(cs, lsq_scale, AG) && same(co, lsq_offset, AG),
              "LSQ initialisation per group");
        PAINT_STACK();
        st = qat_symmetric_per_channel_calibrate(xc, chs, CR, CC, 1e-4f, -8, 7, QAT_CALIBRATE_SEARCH);
        measure("qat_symmetric_per_channel_calibrate: ");
        check(st == QAT_OK && same(chs, cal_chan, CR), "calibration per channel");
        check(qat_symmetric_per_tensor_calibrate(xc, ts, TN, 1e-4f, -128, 127, QAT_CALIBRATE_SEARCH) == QAT_OK &&
                  same(ts, cal_tens, 1),
              "calibration per tensor");
        check(qat_symmetric_per_tensor_calibrate(x + (AN - TN), ts, TN, 1e-4f, -128, 127, QAT_CALIBRATE_SEARCH) ==
                  QAT_ERR_NON_FINITE && same(ts, cal_tens, 1),
              "calibration refuses a NaN weight");
    }

    /* Asymmetric per channel: per group with each row a group, so the
     * per-group vectors (AG groups of AS) are its golden bits as AG rows of AS. */
    {
        qat_bf16 cs[AG], co[AG];
        PAINT_STACK();
        st = qat_asymmetric_per_channel(x, s, o, out, AG, AS, 3, 1e-4f, 0.95f);
        measure("qat_asymmetric_per_channel: ");
        check(st == QAT_OK && same(out, asym_out, AN), "asymmetric per channel");
        PAINT_STACK();
        st = qat_asymmetric_per_channel_backward(g, x, s, o, gw, gs, go, AG, AS, 3, 1e-4f, 0.95f);
        measure("qat_asymmetric_per_channel_backward: ");
        check(st == QAT_OK && same(gw, asym_gw, AN) && same(gs, asym_gs, AG) && same(go, asym_go, AG),
              "asymmetric per channel backward");
        check(qat_asymmetric_per_channel_quantize(xq, s, o, codes, AG, AS, 3, 1e-4f, 0.95f) == QAT_OK &&
                  same_bytes(codes, asym_codes, AN),
              "asymmetric per channel codes");
        check(qat_asymmetric_per_channel_dequantize(codes, s, o, out, AG, AS, 3, 1e-4f, 0.95f) == QAT_OK &&
                  same(out, asym_values, AN),
              "asymmetric per channel values of codes");
        check(qat_asymmetric_per_channel_calibrate(xc, cs, co, AG, AS, 3, 1e-4f, 0.95f, QAT_CALIBRATE_SEARCH) ==
                      QAT_OK &&
                  same(cs, cal_scale, AG) && same(co, cal_offset, AG),
              "calibration per channel, asymmetric");
        check(qat_asymmetric_per_channel(x, s, o, out, AG, AS, 17, 1e-4f, 0.95f) == QAT_ERR_BIT_WIDTH &&
                  same(out, asym_values, AN),
              "asymmetric per channel status, output untouched");
    }

    /* Per-token activations, both mappings, forward and backward. */
    {
        static const struct {
            int symmetric;
            unsigned bit;
            const qat_bf16 *out, *gx;
            const uint32_t *scale, *zp;
        } tok[2] = {{0, 8, tok_asym_out, tok_asym_gx, tok_asym_scale, tok_asym_zp},
                    {1, 4, tok_sym_out, tok_sym_gx, tok_sym_scale, tok_sym_zp}};
        float ps[AG];
        int32_t pz[AG];
        int k;
        for (k = 0; k < 2; k++) {
            PAINT_STACK();
            st = (tok[k].symmetric ? qat_per_token_symmetric : qat_per_token_asymmetric)(x, out, ps, pz, AG, AS,
                                                                                        tok[k].bit, 1e-6f);
            measure(tok[k].symmetric ? "qat_per_token_symmetric: " : "qat_per_token_asymmetric: ");
            check(st == QAT_OK && same(out, tok[k].out, AN) && same_bytes(ps, tok[k].scale, sizeof ps) &&
                      same_bytes(pz, tok[k].zp, sizeof pz),
                  "per-token forward");
            PAINT_STACK();
            st = qat_per_token_backward(g, x, ps, pz, gw, AG, AS, tok[k].bit);
            measure("qat_per_token_backward: ");
            check(st == QAT_OK && same(gw, tok[k].gx, AN), "per-token backward");
        }
        check(qat_per_token_asymmetric(x, out, ps, pz, AG, AS, 1, 1e-6f) == QAT_ERR_BIT_WIDTH &&
                  qat_per_token_symmetric(x, out, ps, pz, AG, AS, 8, 0.0f) == QAT_ERR_EPS &&
                  same(out, tok[1].out, AN),
              "per-token statuses, output untouched");
    }

    /* Any floating-point environment the caller left: flush-to-zero (bit 24),
     * default NaN (25), each rounding mode (23:22), and sticky flags (0-4, 7). */
#ifdef __ARM_FP
    golden_under(1u << 24, "golden bits under FZ");
    golden_under(1u << 25, "golden bits under DN");
    golden_under(1u << 22, "golden bits rounding up");
    golden_under(2u << 22, "golden bits rounding down");
    golden_under(3u << 22, "golden bits rounding to zero");
    golden_under((1u << 24) | (1u << 25) | (3u << 22) | 0x9Fu, "golden bits under FZ, DN, to zero, flags set");
#endif

    /* In place: out == weight. */
    memcpy(out, x, sizeof out);
    check(qat_asymmetric_per_group(out, s, o, out, AN, AS, 3, 1e-4f, 0.95f) == QAT_OK && same(out, asym_out, AN),
          "asymmetric per group in place");

    /* Bad inputs: each status, outputs untouched. */
    memset(out, 0, sizeof out);
    memset(gw, 0, sizeof gw);
    memset(gs, 0, sizeof gs);
    memset(go, 0, sizeof go);
    check(qat_asymmetric_per_group(NULL, s, o, out, AN, AS, 3, 1e-4f, 0.95f) == QAT_ERR_POINTER, "null pointer");
    check(qat_asymmetric_per_group(x, s, o, out, AN, 0, 3, 1e-4f, 0.95f) == QAT_ERR_SHAPE, "group 0");
    check(qat_asymmetric_per_group(x, s, o, out, AN, 7, 3, 1e-4f, 0.95f) == QAT_ERR_SHAPE, "group 7");
    check(qat_symmetric_per_channel(x, s, out, 0x10000, 0x10000, 1e-4f, -8, 7) == QAT_ERR_SHAPE, "overflow");
    check(qat_asymmetric_per_group_backward(g, x, s, o, gw, gs, go, AN, AS, 17, 1e-4f, 0.95f) == QAT_ERR_BIT_WIDTH,
          "bit 17");
    check(qat_symmetric_per_tensor(x, s, out, TN, 0.0f, -8, 7) == QAT_ERR_EPS, "eps 0");
    check(qat_asymmetric_per_group(x, s, o, out, AN, AS, 3, 1e-4f, 1.0f) == QAT_ERR_CLIP, "clip 1");
    check(qat_symmetric_per_channel_backward(g, x, s, gw, gs, CR, CC, 1e-4f, 7, -8) == QAT_ERR_RANGE, "min > max");
    check(qat_symmetric_per_tensor_backward(g, x, s, gw, gw + 1, TN, 1e-4f, -8, 7) == QAT_ERR_OVERLAP, "overlap");
    memset(codes, 0, sizeof codes);
    memset(signed_codes, 0, sizeof signed_codes);
    check(qat_asymmetric_per_group_quantize(x, s, o, codes, AN, AS, 3, 1e-4f, 0.95f) == QAT_ERR_NON_FINITE,
          "a NaN weight has no code");
    check(qat_asymmetric_per_group_quantize(xq, s, o, codes, AN, AS, 9, 1e-4f, 0.95f) == QAT_ERR_BIT_WIDTH,
          "codes of 9 bits");
    check(qat_symmetric_per_tensor_quantize(x + (AN - TN), s + 2, signed_codes, TN, 1e-4f, -128, 127) ==
              QAT_ERR_NON_FINITE,
          "a NaN weight has no signed code");
    check(qat_symmetric_per_tensor_quantize(xq, s + 2, signed_codes, TN, 1e-4f, -129, 127) == QAT_ERR_RANGE,
          "codes below -128");
    packed[0] = 8;
    packed[1] = 0;
    check(qat_asymmetric_per_group_dequantize(packed, s, o, out, AN, AS, 3, 1e-4f, 0.95f) == QAT_ERR_CODE,
          "a code off the grid");
    check(qat_pack_codes(packed, 1, 2, packed + 1) == QAT_ERR_CODE, "a code wider than the packing");
    check(same(out, sentinel, AN) && same(gw, sentinel, AN) && same(gs, sentinel, AG) && same(go, sentinel, AG) &&
              same_bytes(codes, sentinel, AN) && same_bytes(signed_codes, sentinel, AN) && packed[1] == 0,
          "outputs untouched on error");

    print_number("stack: ", stack_max, " bytes\n");
    print_number(failures ? "firmware: FAILED, " : "firmware: all passed, ", (unsigned long)failures, " failures\n");
    return failures;
}
