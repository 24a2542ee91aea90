//! Compression sniffing: layers may be plain, gzip or zstd tars.

use std::io::{BufRead, BufReader, Read};

use crate::TarError;

/// A layer's compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip (RFC 1952), possibly multi-member.
    Gzip,
    /// zstd.
    Zstd,
}

/// Sniffs the magic bytes of `r` and returns a reader of the decompressed stream.
pub fn decompress<R: Read + Send + 'static>(
    r: R,
) -> Result<(Compression, Box<dyn Read + Send>), TarError> {
    let mut br = BufReader::with_capacity(256 * 1024, r);
    let head = br.fill_buf().map_err(|e| TarError::Malformed {
        name: String::new(),
        reason: format!("reading the layer: {e}"),
    })?;
    let kind = match head {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        _ => Compression::None,
    };
    Ok(match kind {
        Compression::None => (kind, Box::new(br)),
        Compression::Gzip => (kind, Box::new(flate2::bufread::MultiGzDecoder::new(br))),
        Compression::Zstd => {
            let d =
                zstd::stream::read::Decoder::with_buffer(br).map_err(|e| TarError::Malformed {
                    name: String::new(),
                    reason: format!("zstd: {e}"),
                })?;
            (kind, Box::new(d))
        }
    })
}
