//! A reader that watches the tar block structure as it streams past and refuses oversized
//! metadata members before the `tar` crate buffers them.
//!
//! The `tar` crate reads PAX (`x`, `g`) and GNU long-name (`L`, `K`) members into memory
//! whole, whatever size their header declares. A few kilobytes of gzip can declare a
//! 100 GiB PAX header of zeros, which would exhaust memory (a decompression bomb,
//! CVE-2017-14992). The guard follows the same framing as the tar crate (header size, or
//! the PAX `size` record of the preceding `x` member) and fails the read as soon as such a
//! header announces more than [`MAX_META`] bytes.

use std::io::{self, Read};

/// Largest PAX / GNU long-name member accepted: generous for long names and xattrs (a
/// Linux xattr value is at most 64 KiB), tiny next to available memory.
pub(crate) const MAX_META: u64 = 1 << 20;

/// The error payload the guard fails reads with; `apply` turns it into `LimitExceeded`.
#[derive(Debug)]
pub(crate) struct MetaTooLarge(pub u64);

impl std::fmt::Display for MetaTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "extended header of {} bytes", self.0)
    }
}

impl std::error::Error for MetaTooLarge {}

pub(crate) struct Guard<R> {
    inner: R,
    /// Bytes of the current header block seen so far.
    hdr: [u8; 512],
    hdr_len: usize,
    /// Bytes of member data (and padding) before the next header.
    skip: u64,
    /// Data of a PAX `x` member being captured (to learn its `size` record).
    capture: Option<Vec<u8>>,
    capture_left: u64,
    /// Size override for the next regular member, from a PAX `size` record.
    next_size: Option<u64>,
    /// Framing lost (GNU sparse, unparsable numbers): stop watching, the tar crate or the
    /// applier will refuse the member anyway.
    off: bool,
}

impl<R: Read> Guard<R> {
    pub(crate) fn new(inner: R) -> Self {
        Guard {
            inner,
            hdr: [0; 512],
            hdr_len: 0,
            skip: 0,
            capture: None,
            capture_left: 0,
            next_size: None,
            off: false,
        }
    }

    fn observe(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() && !self.off {
            if self.skip > 0 {
                let n = (self.skip.min(data.len() as u64)) as usize;
                if let Some(cap) = self.capture.as_mut() {
                    let c = (self.capture_left.min(n as u64)) as usize;
                    cap.extend_from_slice(&data[..c]);
                    self.capture_left -= c as u64;
                }
                self.skip -= n as u64;
                data = &data[n..];
                if self.skip == 0 {
                    if let Some(cap) = self.capture.take() {
                        self.next_size = pax_size(&cap).or(self.next_size);
                    }
                }
                continue;
            }
            let n = (512 - self.hdr_len).min(data.len());
            self.hdr[self.hdr_len..self.hdr_len + n].copy_from_slice(&data[..n]);
            self.hdr_len += n;
            data = &data[n..];
            if self.hdr_len == 512 {
                self.hdr_len = 0;
                self.header()?;
            }
        }
        Ok(())
    }

    fn header(&mut self) -> io::Result<()> {
        if self.hdr.iter().all(|&b| b == 0) {
            return Ok(());
        }
        let Some(size) = parse_numeric(&self.hdr[124..136]) else {
            self.off = true;
            return Ok(());
        };
        match self.hdr[156] {
            t @ (b'x' | b'g' | b'L' | b'K') => {
                if size > MAX_META {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        MetaTooLarge(size),
                    ));
                }
                if t == b'x' {
                    self.capture = Some(Vec::with_capacity(size as usize));
                    self.capture_left = size;
                }
                self.skip = round_up(size);
            }
            b'S' => self.off = true,
            _ => {
                let size = self.next_size.take().unwrap_or(size);
                self.skip = round_up(size);
            }
        }
        if self.skip == 0 {
            if let Some(cap) = self.capture.take() {
                self.next_size = pax_size(&cap).or(self.next_size);
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.observe(&buf[..n])?;
        Ok(n)
    }
}

fn round_up(size: u64) -> u64 {
    size.saturating_add(511) & !511
}

/// Parses a numeric header field as the tar crate does: base-256 when the top bit of the
/// first byte is set, else octal (spaces and NULs trimmed).
fn parse_numeric(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        if field[0] & 0x40 != 0 {
            return None; // negative
        }
        let mut v: u64 = u64::from(field[0] & 0x3f);
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let s: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|b| *b == b' ')
        .take_while(|b| *b != 0 && *b != b' ')
        .collect();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(std::str::from_utf8(&s).ok()?, 8).ok()
}

/// The `size` record of PAX extension data (`"<len> size=<decimal>\n"` records).
fn pax_size(data: &[u8]) -> Option<u64> {
    let mut rest = data;
    let mut found = None;
    while !rest.is_empty() {
        let sp = rest.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..sp]).ok()?.parse().ok()?;
        if len <= sp || len > rest.len() {
            return found;
        }
        let rec = &rest[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(v) = rec.strip_prefix(b"size=") {
            found = std::str::from_utf8(v).ok().and_then(|v| v.parse().ok());
        }
        rest = &rest[len..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_fields_parse_like_tar() {
        assert_eq!(parse_numeric(b"00000001750\0"), Some(0o1750));
        assert_eq!(parse_numeric(b"     17 \0\0\0\0"), Some(0o17));
        let mut b256 = [0u8; 12];
        b256[0] = 0x80;
        b256[11] = 5;
        assert_eq!(parse_numeric(&b256), Some(5));
        b256[0] = 0xff;
        assert_eq!(parse_numeric(&b256), None);
    }

    #[test]
    fn pax_size_record_is_found() {
        assert_eq!(pax_size(b"12 size=345\n20 path=aaaaaaaaaaa\n"), Some(345));
        assert_eq!(pax_size(b"20 path=aaaaaaaaaaa\n"), None);
        assert_eq!(pax_size(b"garbage"), None);
    }

    #[test]
    fn oversized_pax_header_fails_the_read() {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_size(MAX_META + 1);
        h.set_cksum();
        let mut g = Guard::new(&h.as_bytes()[..]);
        let mut buf = [0u8; 100];
        let mut err = None;
        for _ in 0..10 {
            match g.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        let e = err.expect("guard must refuse");
        assert!(e.get_ref().is_some_and(|i| i.is::<MetaTooLarge>()));
    }
}
