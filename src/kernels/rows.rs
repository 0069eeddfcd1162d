//! The loops that drive a quantizer over one row (a group, a channel, or a
//! whole tensor): `map_row` for the elementwise maps (forward, codes, values
//! of codes), `backward_row` for backward, which also forms the row's two
//! sums in the order of `reduction`.

use super::reduction::{block_value, Compensated, BLOCK};
use super::tails::{load_tail, store_tail};
use core::marker::PhantomData;

use crate::vector::{Code, Data, Element, Elementwise, Lanes, Lanewise, Pair, Vector, LANES};

/// One vector of a map over a row at element `i`; `n < LANES` elements go
/// through the stack.
///
/// # Safety
/// `min(n, LANES)` elements from `i` are valid in both buffers, as in
/// [`map_row`].
#[inline(always)]
unsafe fn map_step<V: Vector, F: Elementwise>(
    token: V::Token,
    map: &F,
    x: *const F::In,
    out: *mut F::Out,
    i: usize,
    n: usize,
) {
    let full = n >= LANES;
    // SAFETY: min(n, LANES) elements from i are valid in both buffers (caller).
    unsafe {
        let v: V = if full {
            F::In::load(token, x.add(i))
        } else {
            load_tail(token, x.add(i), n)
        };
        let y = V::apply(map, v);
        if full {
            F::Out::store(y, out.add(i))
        } else {
            store_tail(y, out.add(i), n)
        }
    }
}

/// `out[i] = map(x[i])` over one row, eight lanes at a time.
///
/// # Safety
/// `x` valid for reading and `out` for writing `len` elements; they are the
/// same buffer or do not overlap.
#[inline(always)]
unsafe fn map_row<V: Vector, P: Pair<V>, F: Elementwise>(
    token: P::Token,
    x: *const F::In,
    out: *mut F::Out,
    len: usize,
    map: &F,
) {
    let mut i = 0;
    // Whole quads of vectors, a whole pair, then the rest (see `backward_block`).
    while V::WHOLE_VECTOR_LOOPS && len - i >= 4 * LANES {
        // SAFETY: 4 * LANES elements from i are in both buffers.
        unsafe {
            // (No closure here: one would not inherit the ISA's features.)
            let [first, second] = F::In::load_quad::<V, P>(token, x.add(i));
            F::Out::store_quad::<V, P>([map.map(first), map.map(second)], out.add(i));
        }
        i += 4 * LANES;
    }
    if V::WHOLE_VECTOR_LOOPS && len - i >= 2 * LANES {
        // SAFETY: 2 * LANES elements from i are in both buffers.
        unsafe {
            let pair: P = F::In::load(token, x.add(i));
            F::Out::store(map.map(pair), out.add(i))
        };
        i += 2 * LANES;
    }
    while i < len {
        let n = (len - i).min(LANES);
        // SAFETY: n elements from i are in both buffers.
        unsafe { map_step::<V, F>(P::vector_token(token), map, x, out, i, n) };
        i += n;
    }
}

/// `out = map(x)` over `rows` consecutive rows of `len` elements, row `k` by
/// the map `map_of(k)`.
///
/// # Safety
/// `x` valid for reading and `out` for writing `rows * len` elements; they
/// are the same buffer or do not overlap.
#[inline(always)]
pub(super) unsafe fn map_rows<V: Vector, P: Pair<V>, F: Elementwise>(
    token: P::Token,
    (x, out): (*const F::In, *mut F::Out),
    rows: usize,
    len: usize,
    mut map_of: impl FnMut(usize) -> F,
) {
    for k in 0..rows {
        let map = map_of(k);
        // SAFETY: row k spans elements [k * len, (k + 1) * len) (caller).
        unsafe { map_row::<V, P, F>(token, x.add(k * len), out.add(k * len), len, &map) };
    }
}

/// A quantizer's forward pass: weights `T` to fake-quantized `T`.
pub(super) struct Forward<Q, T>(pub Q, pub PhantomData<T>);

impl<Q: Lanewise, T: Data> Elementwise for Forward<Q, T> {
    type In = T;
    type Out = T;
    #[inline(always)]
    fn map<L: Lanes>(&self, x: L) -> L {
        self.0.forward(x)
    }
}

/// A quantizer's codes: weights `T` to integer codes `C`.
pub(super) struct Codes<Q, C, T>(pub Q, pub PhantomData<(C, T)>);

impl<Q: Lanewise, C: Code, T: Data> Elementwise for Codes<Q, C, T> {
    type In = T;
    type Out = C;
    #[inline(always)]
    fn map<L: Lanes>(&self, x: L) -> L {
        self.0.code(x)
    }
}

/// The values of a quantizer's codes: codes `C` to `T`, the forward pass's
/// bits.
pub(super) struct Values<Q, C, T>(pub Q, pub PhantomData<(C, T)>);

impl<Q: Lanewise, C: Code, T: Data> Elementwise for Values<Q, C, T> {
    type In = C;
    type Out = T;
    #[inline(always)]
    fn map<L: Lanes>(&self, code: L) -> L {
        self.0.value(code)
    }
}

/// Where a backward row's sums go, block by block: folded into the one-call
/// result ([`Totals`]), or kept as block values for shards to combine.
pub(crate) trait BlockSums {
    /// Block `index`'s two sums, as f64 block values in the reduction order.
    fn block(&mut self, index: usize, a: f64, b: f64);
}

/// The one-call result of a row's two sums: each block value added with
/// compensation, then rounded once to f32 (the order of `reduction`).
#[derive(Clone, Copy)]
pub(crate) struct Totals([Compensated; 2]);

impl Totals {
    pub(crate) const ZERO: Self = Totals([Compensated::ZERO; 2]);

    /// The two sums, rounded to f32.
    #[inline(always)]
    pub(crate) fn values(self) -> [f32; 2] {
        [self.0[0].value(), self.0[1].value()]
    }
}

impl BlockSums for Totals {
    #[inline(always)]
    fn block(&mut self, _: usize, a: f64, b: f64) {
        self.0[0].add(a);
        self.0[1].add(b);
    }
}

/// No sums: for a backward pass without learned parameters, whose terms are
/// zero (the compiler drops their sums).
pub(super) struct NoSums;

impl BlockSums for NoSums {
    #[inline(always)]
    fn block(&mut self, _: usize, _: f64, _: f64) {}
}

/// A row's block values written out: the first sum's `blocks` values, then
/// the second's.
pub(crate) struct BlockValues {
    pub out: *mut f64,
    pub blocks: usize,
}

impl BlockSums for BlockValues {
    #[inline(always)]
    fn block(&mut self, index: usize, a: f64, b: f64) {
        // SAFETY: `out` holds `2 * blocks` values and `index < blocks` (the
        // kernel's contract).
        unsafe {
            self.out.add(index).write(canonical(a));
            self.out.add(self.blocks + index).write(canonical(b));
        }
    }
}

/// `value`, with every NaN as the one quiet NaN `0x7FF8_0000_0000_0000`:
/// which NaN a sum gives (its sign, its payload) depends on the order the
/// hardware met its operands in, and block values are compared and
/// combined across machines.
#[inline(always)]
fn canonical(value: f64) -> f64 {
    if value.is_nan() {
        f64::from_bits(0x7FF8_0000_0000_0000)
    } else {
        value
    }
}

/// [`backward_row`] over `rows` consecutive rows of `len` elements: row `k`
/// by the quantizer of `row_of(k)`, whose other value `finish` receives with
/// the row's sums (`sums_of(k)`, filled), after the row's weight gradients
/// are written. Row `k`'s `row_of` runs before its `finish`, so it may read
/// what `finish` writes over.
///
/// # Safety
/// `g` and `x` valid for reading and `grad_weight` for writing `rows * len`
/// elements; `grad_weight` is one of the inputs or overlaps neither.
#[inline(always)]
pub(super) unsafe fn backward_rows<V: Vector, P: Pair<V>, T: Data, Q: Lanewise, R, S: BlockSums>(
    token: P::Token,
    (g, x, grad_weight): (*const T, *const T, *mut T),
    rows: usize,
    len: usize,
    mut row_of: impl FnMut(usize) -> (Q, R),
    mut sums_of: impl FnMut(usize) -> S,
    mut finish: impl FnMut(usize, R, S),
) {
    for k in 0..rows {
        let (quantizer, rest) = row_of(k);
        let mut sums = sums_of(k);
        let at = k * len;
        // SAFETY: row k spans elements [at, at + len) of each buffer (caller).
        unsafe {
            backward_row::<V, P, T>(
                token,
                g.add(at),
                x.add(at),
                grad_weight.add(at),
                len,
                &quantizer,
                &mut sums,
            )
        };
        finish(k, rest, sums);
    }
}

/// One vector of a backward row at element `i`: writes its weight gradients
/// and returns its two vectors of terms. `n < LANES` elements are loaded
/// through the stack and their padding lanes kept out of the terms.
///
/// # Safety
/// `min(n, LANES)` elements from `i` are valid in every buffer, as in
/// [`backward_row`].
#[inline(always)]
unsafe fn backward_step<V: Vector, T: Data>(
    token: V::Token,
    quantizer: &impl Lanewise,
    g: *const T,
    x: *const T,
    grad_weight: *mut T,
    i: usize,
    n: usize,
) -> [V; 2] {
    let full = n >= LANES;
    // SAFETY: min(n, LANES) elements from i are valid in every buffer
    // (caller); a short tail goes through the stack.
    unsafe {
        let (gv, xv) = if full {
            (T::load(token, g.add(i)), T::load(token, x.add(i)))
        } else {
            (load_tail(token, g.add(i), n), load_tail(token, x.add(i), n))
        };
        let [w, a, b] = V::apply_backward(quantizer, gv, xv);
        if full {
            T::store(w, grad_weight.add(i));
            [a, b]
        } else {
            store_tail(w, grad_weight.add(i), n);
            // The zero padding lanes must not reach the sums.
            [a.first(n), b.first(n)]
        }
    }
}

/// One block's two sums (`end - start <= BLOCK`) in the module's order, as
/// lane accumulators; writes the block's weight gradients.
///
/// # Safety
/// As for [`backward_row`], with `start..end` inside the row.
#[inline(always)]
unsafe fn backward_block<V: Vector, P: Pair<V>, T: Data>(
    token: P::Token,
    g: *const T,
    x: *const T,
    grad_weight: *mut T,
    start: usize,
    end: usize,
    quantizer: &impl Lanewise,
) -> [P::Sum; 2] {
    // Whole vectors first, free of tail checks: all of the block where it is
    // whole quads, else its whole octets (a quad may only end the block: its
    // octet's second half is what follows).
    let len = end - start;
    let whole = if !V::WHOLE_VECTOR_LOOPS {
        start
    } else if len.is_multiple_of(4 * LANES) {
        end
    } else {
        start + len / (8 * LANES) * (8 * LANES)
    };
    let [mut sum_a, mut sum_b] = if whole > start {
        // SAFETY: start..whole lies in the block, a whole number of quads.
        unsafe {
            let first = normalize_quad::<V, P, T>(token, quantizer, x.add(start));
            let rows = (g, x, grad_weight);
            backward_whole_quads::<V, P, T, _>(token, rows, start, whole, quantizer, first, None).0
        }
    } else {
        [P::sum_zero(token), P::sum_zero(token)]
    };
    let mut i = whole;
    // What is left, an octet at a time and vector by vector, in the order
    // v0, v4, v2, v6, v1, v5, v3, v7 (3-bit reversal): then three partial
    // sums suffice, as a microcontroller's stack wants. `v0 + v4` and
    // `v2 + v6` make the even half of the octet sum, `v1 + v5` and `v3 + v7`
    // the odd half. Partial sums start from +0.0, and absent vectors (past
    // the end) add nothing: +0.0, the order's padding, could only change the
    // sign of a zero sum, which the f64 accumulators, never -0.0 themselves,
    // do not see.
    // (Only set up where there is a tail: most rows and groups have none.)
    if i < end {
        let vector_token = P::vector_token(token);
        let zero = V::splat(vector_token, 0.0);
        let mut partial = [[zero; 2]; 3];
        let mut step = 0;
        while i < end {
            let k = ((step & 1) << 2) | (step & 2) | (step >> 2);
            let at = i + k * LANES;
            if at < end {
                let n = (end - at).min(LANES);
                // SAFETY: n elements from `at` are valid in every buffer.
                let [a, b]: [V; 2] = unsafe {
                    backward_step::<V, T>(vector_token, quantizer, g, x, grad_weight, at, n)
                };
                // Steps 0 and 1 to the first, 2 to 5 to the second, 6 and 7 to
                // the third.
                let slot = &mut partial[usize::from(step >= 2) + usize::from(step >= 6)];
                slot[0] = slot[0].add(a);
                slot[1] = slot[1].add(b);
            }
            step += 1;
            if step == 4 {
                // The even half, `(v0 + v4) + (v2 + v6)`, in the first.
                let [even, odd, _] = &mut partial;
                for (even, odd) in even.iter_mut().zip(odd) {
                    *even = even.add(*odd);
                    *odd = zero;
                }
            } else if step == 8 {
                for (j, sum) in [&mut sum_a, &mut sum_b].into_iter().enumerate() {
                    let odd = partial[1][j].add(partial[2][j]);
                    *sum = P::sum_add_vector(*sum, partial[0][j].add(odd));
                }
                for slot in partial.iter_mut().flatten() {
                    *slot = zero;
                }
                step = 0;
                i = end.min(i + 8 * LANES);
            }
        }
    }
    [sum_a, sum_b]
}

/// [`backward_block`] of whole quads of vectors, `start..end`: whole
/// octets, then a last quad as an octet whose second half is zero. `first`
/// is the quad at `start`, normalized ([`normalize_quad`]); each quad's
/// successor is normalized before the quad's own work is done (see
/// [`Lanewise::normalize`]), the last one's from `ahead`, the first quad of
/// the next row or group, which is returned normalized (any value where
/// there is none). Unless [`Vector::NORMALIZE_AHEAD`] says no: then each
/// quad is normalized where it is worked on, and `first`, `ahead` and the
/// value returned go unused.
///
/// # Safety
/// As for [`backward_block`], with `end - start` a positive multiple of
/// `4 * LANES`; `ahead`'s pointer valid for reading `4 * LANES` elements.
#[inline(always)]
pub(super) unsafe fn backward_whole_quads<V: Vector, P: Pair<V>, T: Data, Q: Lanewise>(
    token: P::Token,
    (g, x, grad_weight): (*const T, *const T, *mut T),
    start: usize,
    end: usize,
    quantizer: &Q,
    first: [P; 2],
    ahead: Option<(&Q, *const T)>,
) -> ([P::Sum; 2], [P; 2]) {
    let (mut sum_a, mut sum_b) = (P::sum_zero(token), P::sum_zero(token));
    let mut i = start;
    let mut normalized = first;
    // (A macro, not a closure: a closure would not inherit the ISA's features.)
    macro_rules! quad {
        () => {{
            // SAFETY: a whole quad from i lies in start..end, and the one after
            // it too unless it is the last, when `ahead`'s is valid (caller).
            let ([_, a0, b0], [_, a1, b1], next) = unsafe {
                let (first, second, next) = if V::NORMALIZE_AHEAD {
                    let next = if end - i > 4 * LANES {
                        normalize_quad::<V, P, T>(token, quantizer, x.add(i + 4 * LANES))
                    } else if let Some((quantizer, x)) = ahead {
                        normalize_quad::<V, P, T>(token, quantizer, x)
                    } else {
                        normalized
                    };
                    let ([g0, g1], [xn0, xn1]) =
                        (T::load_quad::<V, P>(token, g.add(i)), normalized);
                    (
                        quantizer.backward_normalized(g0, xn0),
                        quantizer.backward_normalized(g1, xn1),
                        next,
                    )
                } else {
                    let [g0, g1] = T::load_quad::<V, P>(token, g.add(i));
                    let [x0, x1] = T::load_quad::<V, P>(token, x.add(i));
                    let (first, second) = (quantizer.backward(g0, x0), quantizer.backward(g1, x1));
                    (first, second, normalized)
                };
                T::store_quad::<V, P>([first[0], second[0]], grad_weight.add(i));
                (first, second, next)
            };
            normalized = next;
            i += 4 * LANES;
            [[a0, b0], [a1, b1]]
        }};
    }
    loop {
        let [[a0, b0], [a1, b1]] = quad!();
        if i == end {
            // The zero half as -0.0, which adds nothing at all (the order's
            // +0.0 could only change the sign of a zero sum, which the f64
            // accumulators, never -0.0 themselves, do not see).
            let none = P::splat(token, -0.0);
            sum_a = P::sum_add(sum_a, [a0, a1, none, none]);
            sum_b = P::sum_add(sum_b, [b0, b1, none, none]);
            break;
        }
        let [[a2, b2], [a3, b3]] = quad!();
        sum_a = P::sum_add(sum_a, [a0, a1, a2, a3]);
        sum_b = P::sum_add(sum_b, [b0, b1, b2, b3]);
        if i == end {
            break;
        }
    }
    ([sum_a, sum_b], normalized)
}

/// The quad of weights at `x`, loaded as two pairs and normalized.
///
/// # Safety
/// `x` is valid for reading `4 * LANES` elements.
#[inline(always)]
pub(super) unsafe fn normalize_quad<V: Vector, P: Pair<V>, T: Data>(
    token: P::Token,
    quantizer: &impl Lanewise,
    x: *const T,
) -> [P; 2] {
    // SAFETY: guaranteed by the caller.
    let [x0, x1] = unsafe { T::load_quad::<V, P>(token, x) };
    [quantizer.normalize(x0), quantizer.normalize(x1)]
}

/// [`backward_row`] of a row of at most [`BLOCK`] elements, with its two sums
/// left as lane accumulators: their [`block_value`], rounded to f32, is what
/// `backward_row` returns.
///
/// # Safety
/// As for [`backward_row`].
#[inline(always)]
pub(super) unsafe fn backward_short_row<V: Vector, P: Pair<V>, T: Data>(
    token: P::Token,
    g: *const T,
    x: *const T,
    grad_weight: *mut T,
    len: usize,
    quantizer: &impl Lanewise,
) -> [P::Sum; 2] {
    debug_assert!(len <= BLOCK);
    // SAFETY: the block is the row (caller).
    unsafe { backward_block::<V, P, T>(token, g, x, grad_weight, 0, len, quantizer) }
}

/// One row of a backward kernel: `[grad_weight, a, b] = backward(g, x)` for
/// every element; writes `grad_weight` and gives `sums` the block values of
/// the sums of `a` and of `b`, in the module's reduction order.
///
/// # Safety
/// `g` and `x` valid for reading and `grad_weight` for writing `len`
/// elements; `grad_weight` is one of the inputs or overlaps neither.
#[inline(always)]
unsafe fn backward_row<V: Vector, P: Pair<V>, T: Data>(
    token: P::Token,
    g: *const T,
    x: *const T,
    grad_weight: *mut T,
    len: usize,
    quantizer: &impl Lanewise,
    sums: &mut impl BlockSums,
) {
    let mut start = 0;
    while start < len {
        let end = start + (len - start).min(BLOCK);
        // SAFETY: the block lies in the row (caller).
        let [a, b] =
            unsafe { backward_block::<V, P, T>(token, g, x, grad_weight, start, end, quantizer) };
        sums.block(
            start / BLOCK,
            block_value::<V, P>(a),
            block_value::<V, P>(b),
        );
        start = end;
    }
}
