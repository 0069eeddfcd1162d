//! Symmetric per-tensor fake quantization (LSQ), one scale: per channel
//! with one row ([`Symmetric`] parameters). Its operations on slices and,
//! in `ffi`, its C entry points.

use super::Backend;
use crate::boundary::{Raw, Slices};
use crate::call::{Call, Shape};
use crate::{dispatch, Symmetric};

mod api;
pub(crate) mod ffi;

pub use api::*;

impl Backend {
    /// A per-tensor call on `numel` weights: one row.
    fn per_tensor(self, numel: usize, params: &Symmetric) -> Call<Slices, Symmetric> {
        self.call(Shape::tensor(numel), *params)
    }
}

/// A per-tensor call from C, on the active backend.
fn from_c(numel: usize, eps: f32, min_v: f32, max_v: f32) -> Call<Raw, Symmetric> {
    let params = Symmetric { eps, min_v, max_v };
    Call::new(dispatch::active(), Shape::tensor(numel), params)
}
