//! Asymmetric per-channel fake quantization (LSQ+ with a learnable scale
//! and offset per row): per group with one group per row. Its parameters
//! map to [`AsymmetricPerGroup`]'s at the boundary, so it runs the per-group
//! call and kernels, with nothing instantiated for it.

use super::Backend;
use crate::boundary::{Raw, Slices};
use crate::call::{Call, Shape};
use crate::{dispatch, AsymmetricPerGroup, Error};

mod api;
pub(crate) mod ffi;

pub use api::*;

/// Parameters of asymmetric per-channel fake quantization (LSQ+): one
/// scale and offset per row of a row-major matrix, on the grid of
/// [`AsymmetricPerGroup`] with the row as the group.
///
/// `Default`: 8 bits, `eps = 1e-4`, `clip_val = 0.99`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AsymmetricPerChannel {
    /// Bit width, 1..=16: the grid has `2^bit` levels.
    pub bit: u32,
    /// Lower bound of the scale (`max(s, eps)`); finite and positive.
    pub eps: f32,
    /// Clip bound of the normalized weight, `0 < clip_val < 1`.
    pub clip_val: f32,
}

impl Default for AsymmetricPerChannel {
    fn default() -> Self {
        AsymmetricPerChannel {
            bit: 8,
            eps: 1e-4,
            clip_val: 0.99,
        }
    }
}

impl AsymmetricPerChannel {
    /// The per-group parameters of rows of `cols`.
    pub(crate) fn per_group(&self, cols: usize) -> AsymmetricPerGroup {
        AsymmetricPerGroup {
            group_size: cols,
            bit: self.bit,
            eps: self.eps,
            clip_val: self.clip_val,
        }
    }
}

/// The per-group call of a shape of rows: each row a group.
pub(crate) fn rows_as_groups<B>(
    call: impl FnOnce(Result<Shape, Error>, AsymmetricPerGroup) -> Call<B, AsymmetricPerGroup>,
    shape: Result<Shape, Error>,
    params: &AsymmetricPerChannel,
) -> Call<B, AsymmetricPerGroup> {
    let cols = shape.map_or(0, |s| s.len);
    call(shape, params.per_group(cols))
}

impl Backend {
    /// A per-channel call on `numel` weights, one row per scale.
    fn per_row(
        self,
        numel: usize,
        rows: usize,
        params: &AsymmetricPerChannel,
    ) -> Call<Slices, AsymmetricPerGroup> {
        rows_as_groups(|s, p| self.call(s, p), Shape::channels(numel, rows), params)
    }

    /// A per-channel call on `rows` rows of `cols`.
    fn per_row_of(
        self,
        rows: usize,
        cols: usize,
        params: &AsymmetricPerChannel,
    ) -> Call<Slices, AsymmetricPerGroup> {
        rows_as_groups(|s, p| self.call(s, p), Shape::rows(rows, cols), params)
    }
}

/// A per-channel call from C on `rows` rows of `cols`, on the active backend.
fn from_c(
    rows: usize,
    cols: usize,
    bit: u32,
    eps: f32,
    clip_val: f32,
) -> Call<Raw, AsymmetricPerGroup> {
    let params = AsymmetricPerChannel { bit, eps, clip_val };
    rows_as_groups(
        |s, p| Call::new(dispatch::active(), s, p),
        Shape::rows(rows, cols),
        &params,
    )
}
