//! The connection's permessage-deflate codec, from the extension layer
//! (a stand-in of empty types without the `deflate` feature, so nothing
//! here needs a feature gate).

pub(crate) use crate::extension::codec::{
    Deflate, DeflateTx, InflateError, Inflater, PreparedDeflate,
};
