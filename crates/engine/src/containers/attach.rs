//! The attach protocol between a client (`run`, `start -a`, `attach`, `wait`) and a
//! container's monitor, over a unix stream socket.
//!
//! Every message is a frame: one type byte, a 4-byte big-endian length, the payload. The
//! client speaks first with [`Frame::Hello`]; the monitor then sends output frames and, when
//! the container has exited and its state is recorded, one [`Frame::Exit`], and closes.

use std::io::{self, Read, Write};

/// Largest payload accepted (a client or monitor sending more is broken).
pub const MAX_FRAME: usize = 1 << 20;

/// What the client wants from the monitor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Want {
    /// Forward the client's stdin to the container.
    pub stdin: bool,
    /// Receive stdout.
    pub stdout: bool,
    /// Receive stderr.
    pub stderr: bool,
}

/// One protocol message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Container stdout (or the terminal's output).
    Stdout(Vec<u8>),
    /// Container stderr.
    Stderr(Vec<u8>),
    /// The container exited with this code and its state is recorded.
    Exit(i32),
    /// Client input for the container's stdin.
    Stdin(Vec<u8>),
    /// The client's stdin reached end of file.
    StdinEof,
    /// The client's terminal size (rows, cols).
    Resize(u16, u16),
    /// The client's opening message.
    Hello(Want),
}

impl Frame {
    fn kind(&self) -> u8 {
        match self {
            Frame::Stdin(_) => 0,
            Frame::Stdout(_) => 1,
            Frame::Stderr(_) => 2,
            Frame::Exit(_) => 3,
            Frame::StdinEof => 4,
            Frame::Resize(..) => 5,
            Frame::Hello(_) => 7,
        }
    }

    /// Encodes the frame.
    pub fn encode(&self) -> Vec<u8> {
        let payload: Vec<u8> = match self {
            Frame::Stdout(d) | Frame::Stderr(d) | Frame::Stdin(d) => d.clone(),
            Frame::Exit(c) => c.to_be_bytes().to_vec(),
            Frame::StdinEof => Vec::new(),
            Frame::Resize(r, c) => [r.to_be_bytes(), c.to_be_bytes()].concat(),
            Frame::Hello(w) => {
                vec![(w.stdin as u8) | (w.stdout as u8) << 1 | (w.stderr as u8) << 2]
            }
        };
        let mut out = Vec::with_capacity(5 + payload.len());
        out.push(self.kind());
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&payload);
        out
    }

    /// Writes the frame.
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&self.encode())
    }

    /// Reads one frame; `None` at a clean end of stream.
    pub fn read_from(r: &mut impl Read) -> io::Result<Option<Frame>> {
        let mut head = [0u8; 5];
        match r.read_exact(&mut head[..1]) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        r.read_exact(&mut head[1..])?;
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if len > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "attach frame too large",
            ));
        }
        let mut p = vec![0u8; len];
        r.read_exact(&mut p)?;
        Self::decode(head[0], p)
            .map(Some)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed attach frame"))
    }

    /// Decodes a frame from its type and payload.
    pub fn decode(kind: u8, p: Vec<u8>) -> Option<Frame> {
        Some(match kind {
            0 => Frame::Stdin(p),
            1 => Frame::Stdout(p),
            2 => Frame::Stderr(p),
            3 => Frame::Exit(i32::from_be_bytes(p.get(..4)?.try_into().ok()?)),
            4 => Frame::StdinEof,
            5 => Frame::Resize(
                u16::from_be_bytes(p.get(..2)?.try_into().ok()?),
                u16::from_be_bytes(p.get(2..4)?.try_into().ok()?),
            ),
            7 => {
                let b = *p.first()?;
                Frame::Hello(Want {
                    stdin: b & 1 != 0,
                    stdout: b & 2 != 0,
                    stderr: b & 4 != 0,
                })
            }
            _ => return None,
        })
    }
}

/// Incremental decoder for a non-blocking reader (the monitor side).
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// Adds bytes read from the socket.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        if self.buf.len() < 5 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "attach frame too large",
            ));
        }
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        let kind = self.buf[0];
        let payload = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        Frame::decode(kind, payload)
            .map(Some)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed attach frame"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let frames = vec![
            Frame::Stdout(b"out".to_vec()),
            Frame::Stderr(vec![]),
            Frame::Exit(-3),
            Frame::Stdin(b"in".to_vec()),
            Frame::StdinEof,
            Frame::Resize(24, 80),
            Frame::Hello(Want {
                stdin: true,
                stdout: false,
                stderr: true,
            }),
        ];
        let mut bytes = Vec::new();
        for f in &frames {
            f.write_to(&mut bytes).unwrap();
        }
        let mut r = &bytes[..];
        for f in &frames {
            assert_eq!(Frame::read_from(&mut r).unwrap().as_ref(), Some(f));
        }
        assert_eq!(Frame::read_from(&mut r).unwrap(), None);
        let mut d = Decoder::default();
        for b in &bytes {
            d.push(&[*b]);
        }
        for f in &frames {
            assert_eq!(d.next_frame().unwrap().as_ref(), Some(f));
        }
        assert!(Frame::read_from(&mut &[9u8, 0, 0, 0, 0][..]).is_err());
        assert!(Frame::read_from(&mut &[1u8, 255, 0, 0, 0][..]).is_err());
    }
}
