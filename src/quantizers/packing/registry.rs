//! This quantizer's entry points in the tests' registry
//! (`crate::registry`).

use super::ffi::*;
use crate::registry::Count::*;
use crate::registry::Elem::*;
use crate::registry::*;

/// Its entry points.
pub static ENTRY_POINTS: &[EntryPoint] = &[
    EntryPoint {
        name: "qat_pack_codes",
        role: Role::Pack {
            unpack: "qat_unpack_codes",
        },
        shape: Shape::Pack,
        params: Params::Width,
        contents: Contents::Codes,
        calibration: false,
        buffers: &[buf("codes", U8, IN, Codes), buf("packed", U8, OUT, Packed)],
        call: |p, a| unsafe { qat_pack_codes(p!(p, 0), a.a, a.b as u32, p!(p, 1)) },
    },
    EntryPoint {
        name: "qat_unpack_codes",
        role: Role::Unpack,
        shape: Shape::Pack,
        params: Params::Width,
        contents: Contents::None,
        calibration: false,
        buffers: &[buf("packed", U8, IN, Packed), buf("codes", U8, OUT, Codes)],
        call: |p, a| unsafe { qat_unpack_codes(p!(p, 0), a.a, a.b as u32, p!(p, 1)) },
    },
    EntryPoint {
        name: "qat_pack_signed_codes",
        role: Role::Pack {
            unpack: "qat_unpack_signed_codes",
        },
        shape: Shape::Pack,
        params: Params::Width,
        contents: Contents::Codes,
        calibration: false,
        buffers: &[buf("codes", I8, IN, Codes), buf("packed", U8, OUT, Packed)],
        call: |p, a| unsafe { qat_pack_signed_codes(p!(p, 0), a.a, a.b as u32, p!(p, 1)) },
    },
    EntryPoint {
        name: "qat_unpack_signed_codes",
        role: Role::Unpack,
        shape: Shape::Pack,
        params: Params::Width,
        contents: Contents::None,
        calibration: false,
        buffers: &[buf("packed", U8, IN, Packed), buf("codes", I8, OUT, Codes)],
        call: |p, a| unsafe { qat_unpack_signed_codes(p!(p, 0), a.a, a.b as u32, p!(p, 1)) },
    },
];
