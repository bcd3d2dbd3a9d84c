//! The bridge between polars' arrays (polars-arrow) and arrow-rs arrays over the Arrow C Data
//! Interface: both sides implement the same C ABI, so buffers move across without copying.
//!
//! polars-arrow has no arrow-rs conversion of its own; this is the one place auditframe uses
//! `unsafe`, and each block is a hand-over of structs produced by the other side's exporter.
#![allow(unsafe_code)]

use arrow_array::ffi::{from_ffi, to_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{make_array, Array, ArrayRef};
use polars::prelude::PlSmallStr;
use polars_arrow::array::Array as PolarsArray;
use polars_arrow::datatypes::Field as PolarsField;
use polars_arrow::ffi as pffi;

use crate::{Error, Result};

// Both crates declare the C structs `ArrowArray` / `ArrowSchema` with `#[repr(C)]`;
// `transmute` below also checks at compile time that the sizes agree.
const _: () =
    assert!(std::mem::size_of::<pffi::ArrowArray>() == std::mem::size_of::<FFI_ArrowArray>());
const _: () =
    assert!(std::mem::size_of::<pffi::ArrowSchema>() == std::mem::size_of::<FFI_ArrowSchema>());

fn arrow_error(e: impl std::fmt::Display) -> Error {
    Error::schema(format!("Arrow C Data Interface: {e}"))
}

/// A polars-arrow array as an arrow-rs array, sharing its buffers.
pub(crate) fn to_arrow_rs(array: Box<dyn PolarsArray>) -> Result<ArrayRef> {
    let field = PolarsField::new(PlSmallStr::EMPTY, array.dtype().clone(), true);
    let schema = pffi::export_field_to_c(&field);
    let array = pffi::export_array_to_c(array);
    // SAFETY: `pffi::ArrowArray` / `ArrowSchema` and arrow-rs' `FFI_ArrowArray` /
    // `FFI_ArrowSchema` are `#[repr(C)]` definitions of the same C Data Interface structs
    // (sizes asserted above). The values were just filled in by polars' exporter, and the
    // ownership of their buffers (the `release` callback) moves with them.
    let (array, schema) = unsafe {
        (
            std::mem::transmute::<pffi::ArrowArray, FFI_ArrowArray>(array),
            std::mem::transmute::<pffi::ArrowSchema, FFI_ArrowSchema>(schema),
        )
    };
    // SAFETY: a valid array/schema pair from the exporter above.
    let data = unsafe { from_ffi(array, &schema) }.map_err(arrow_error)?;
    Ok(make_array(data))
}

/// An arrow-rs array as a polars-arrow array, sharing its buffers.
pub(crate) fn to_polars(array: &dyn Array) -> Result<Box<dyn PolarsArray>> {
    let (array, schema) = to_ffi(&array.to_data()).map_err(arrow_error)?;
    // SAFETY: as in `to_arrow_rs`, in the other direction: structs filled in by arrow-rs'
    // exporter, handed over whole.
    let (array, schema) = unsafe {
        (
            std::mem::transmute::<FFI_ArrowArray, pffi::ArrowArray>(array),
            std::mem::transmute::<FFI_ArrowSchema, pffi::ArrowSchema>(schema),
        )
    };
    // SAFETY: a valid schema from arrow-rs' exporter.
    let field = unsafe { pffi::import_field_from_c(&schema) }.map_err(arrow_error)?;
    // SAFETY: a valid array of that schema; polars keeps it (and its release callback) alive
    // for as long as the imported buffers are used.
    unsafe { pffi::import_array_from_c(array, field.dtype) }.map_err(arrow_error)
}
