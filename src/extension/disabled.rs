//! The codec's stand-in without the `deflate` feature: empty enums with
//! the codec's methods, so the connection compiles unchanged and every
//! `Option` of them is `None`. Kept here, next to the real codec, so the
//! connection needs no feature gate of its own.

#![allow(dead_code)]

/// Never constructed without the `deflate` feature.
#[derive(Debug)]
pub(crate) enum Deflate {}

impl Deflate {
    pub(crate) fn split(&mut self) -> (&mut Inflater, &mut DeflateTx) {
        match *self {}
    }
    pub(crate) fn heap_usage(&self) -> usize {
        match *self {}
    }
    pub(crate) fn bytes_moved(&self) -> u64 {
        match *self {}
    }
    pub(crate) fn release(&mut self, _: bool, _: bool) {
        match *self {}
    }
}

/// Never constructed without the `deflate` feature.
#[derive(Debug)]
pub(crate) enum DeflateTx {}

impl DeflateTx {
    pub(crate) fn wants(&self, _: usize) -> bool {
        match *self {}
    }
    pub(crate) fn compress(&mut self, _: &[u8], _: bool, _: usize) -> &[u8] {
        match *self {}
    }
    pub(crate) fn set_fragments(&mut self, _: bool) {
        match *self {}
    }
    pub(crate) fn fragments(&self) -> bool {
        match *self {}
    }
    pub(crate) fn forget_history(&mut self) {
        match *self {}
    }
}

/// Without the `deflate` feature a prepared message has no compressed
/// form: nothing to hold, and no `DeflateTx` to ask for one.
pub(crate) struct PreparedDeflate<T>(core::marker::PhantomData<T>);

impl<T> PreparedDeflate<T> {
    pub(crate) fn new() -> PreparedDeflate<T> {
        PreparedDeflate(core::marker::PhantomData)
    }
    pub(crate) fn get_or_make(&self, tx: &DeflateTx, _: &[u8], _: impl FnOnce(&[u8]) -> T) -> &T {
        match *tx {}
    }
    pub(crate) fn made(&self) -> u8 {
        0
    }
}

/// Never constructed without the `deflate` feature.
#[derive(Debug)]
pub(crate) enum Inflater {}

pub(crate) enum InflateError {
    TooLarge,
    Invalid,
}

impl Inflater {
    pub(crate) fn settle(&mut self, _: usize, _: bool) {
        match *self {}
    }
    pub(crate) fn begin(&mut self, _: usize) {
        match *self {}
    }
    pub(crate) fn inflate(&mut self, _: &[u8], _: u64, _: usize) -> Result<usize, InflateError> {
        match *self {}
    }
    pub(crate) fn finish(&mut self, _: u64) -> Result<(), InflateError> {
        match *self {}
    }
    pub(crate) fn pending(&self) -> &[u8] {
        match *self {}
    }
    pub(crate) fn hand_out(&mut self, _: usize) {
        match *self {}
    }
    pub(crate) fn handed_out(&self, _: usize) -> &[u8] {
        match *self {}
    }
}
