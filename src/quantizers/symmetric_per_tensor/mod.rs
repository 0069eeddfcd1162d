//! Symmetric per-tensor fake quantization (LSQ), one scale: per channel
//! with one row ([`Symmetric`] parameters). Its operations on slices and,
//! in `ffi`, its C entry points.

use super::symmetric_per_channel::from_c;
use super::Backend;
use crate::boundary::Slices;
use crate::call::{Call, Shape};
use crate::Symmetric;

mod api;
pub(crate) mod ffi;

pub use api::*;

impl Backend {
    /// A per-tensor call on `numel` weights: one row.
    fn per_tensor(self, numel: usize, params: &Symmetric) -> Call<Slices, Symmetric> {
        self.call(Shape::rows(1, numel), *params)
    }
}
