//! The pipes to one adapter process: request lines out, answer lines in, each within a
//! deadline, so that the caller never blocks on a child that stopped reading or writing.
//!
//! Two ways to serve them:
//! - [`PollLink`] (Unix, the default there): the calling thread writes to and reads from
//!   non-blocking pipes, waiting in `poll(2)` until the deadline. A round trip costs what the
//!   boundary costs — no thread hand-over on the way.
//! - [`ThreadLink`] (everywhere): a writer thread takes lines off a channel and a reader thread
//!   puts stdout's lines on another, which the caller waits on with a timeout.
//!
//! This module moves bytes and lines. It refuses to know what they mean, which process they
//! come from, or what a failure is called in the suite's vocabulary.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{ChildStdin, ChildStdout};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::Instant;

use super::MAX_LINE_BYTES;

/// Why a line could not be sent or received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum LinkError {
    /// The child closed its end (it exited, or closed stdin or stdout).
    Closed,
    /// The deadline passed.
    Timeout,
    /// More than [`MAX_LINE_BYTES`] without a newline.
    TooLong,
    /// A line that is not UTF-8 (lossily decoded, for the message).
    NotUtf8(String),
    Io(String),
}

/// Line-oriented pipes with deadlines.
pub(super) trait Link {
    /// Send one line (with its newline).
    fn send(&mut self, line: &[u8], deadline: Instant) -> Result<(), LinkError>;
    /// The next line that is not blank, without its line ending; blank lines are skipped.
    /// Borrowed from the link until the next call.
    fn receive(&mut self, deadline: Instant) -> Result<&str, LinkError>;
    /// Close the child's stdin.
    fn close(&mut self);
}

/// Serve the pipes with `poll(2)` where there is one, unless `threads` asks otherwise.
pub(super) fn open(
    stdin: ChildStdin,
    stdout: ChildStdout,
    threads: bool,
) -> std::io::Result<Box<dyn Link>> {
    #[cfg(unix)]
    if !threads {
        return Ok(Box::new(unix::PollLink::new(stdin.into(), stdout.into())?));
    }
    let _ = threads;
    Ok(Box::new(ThreadLink::new(stdin, stdout)))
}

fn line_of(bytes: &[u8]) -> Result<&str, LinkError> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(_) => Err(LinkError::NotUtf8(crate::adapters::protocol::excerpt(
            &String::from_utf8_lossy(bytes),
        ))),
    }
}

/// Whether a line is blank (only whitespace; a line that is not UTF-8 is not blank).
fn is_blank(bytes: &[u8]) -> bool {
    match bytes.first() {
        // The common case, checked without a second UTF-8 pass: a line starting `{`.
        Some(0x21..=0x7e) => false,
        _ => std::str::from_utf8(bytes).is_ok_and(|text| text.trim().is_empty()),
    }
}

/// The first `\n` in `bytes`, eight bytes at a time (a snapshot answer is kilobytes long).
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const NEWLINES: u64 = u64::from_ne_bytes([b'\n'; 8]);
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ NEWLINES;
        // The high bit of each zero byte of x, and maybe of bytes above the first one (borrows
        // run upwards): the lowest set bit is exact.
        let hits = x.wrapping_sub(ONES) & !x & HIGH;
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|offset| at + offset)
}

/// What the reader thread saw.
enum Event {
    Line(Result<String, LinkError>),
    End(LinkError),
}

/// A writer thread and a reader thread, handing lines over channels.
pub(super) struct ThreadLink {
    to_child: Option<Sender<Vec<u8>>>,
    from_child: Receiver<Event>,
    /// The line last received.
    line: String,
}

impl ThreadLink {
    fn new(mut stdin: ChildStdin, stdout: ChildStdout) -> ThreadLink {
        let (to_child, requests) = mpsc::channel::<Vec<u8>>();
        let (events, from_child) = mpsc::channel();
        thread::spawn(move || {
            for line in requests {
                if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
                    break;
                }
            }
        });
        thread::spawn(move || {
            let mut reader = BufReader::with_capacity(64 * 1024, stdout);
            let mut buffer = Vec::new();
            loop {
                buffer.clear();
                let limit = MAX_LINE_BYTES as u64 + 1;
                let event = match (&mut reader).take(limit).read_until(b'\n', &mut buffer) {
                    Ok(0) => Event::End(LinkError::Closed),
                    Ok(_) if buffer.len() > MAX_LINE_BYTES => Event::End(LinkError::TooLong),
                    Ok(_) => Event::Line(line_of(&buffer).map(str::to_string)),
                    Err(e) => Event::End(LinkError::Io(e.to_string())),
                };
                let last = matches!(event, Event::End(_));
                if events.send(event).is_err() || last {
                    break;
                }
            }
        });
        ThreadLink {
            to_child: Some(to_child),
            from_child,
            line: String::new(),
        }
    }
}

impl Link for ThreadLink {
    fn send(&mut self, line: &[u8], _deadline: Instant) -> Result<(), LinkError> {
        // A writer blocked on a child that stopped reading shows as a receive timeout.
        match &self.to_child {
            Some(tx) => tx.send(line.to_vec()).map_err(|_| LinkError::Closed),
            None => Err(LinkError::Closed),
        }
    }

    fn receive(&mut self, deadline: Instant) -> Result<&str, LinkError> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_child.recv_timeout(left) {
                Ok(Event::Line(Ok(line))) if line.trim().is_empty() => {}
                Ok(Event::Line(Ok(line))) => {
                    self.line = line;
                    return Ok(&self.line);
                }
                Ok(Event::Line(Err(why)) | Event::End(why)) => return Err(why),
                Err(RecvTimeoutError::Disconnected) => return Err(LinkError::Closed),
                Err(RecvTimeoutError::Timeout) => return Err(LinkError::Timeout),
            }
        }
    }

    fn close(&mut self) {
        self.to_child = None;
    }
}

#[cfg(unix)]
mod unix {
    use std::io::{ErrorKind, Read, Write};
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::time::Instant;

    use super::{find_newline, is_blank, line_of, Link, LinkError};
    use crate::adapters::process::MAX_LINE_BYTES;

    /// Non-blocking pipes served from the calling thread.
    pub(in crate::adapters::process) struct PollLink {
        stdin: Option<std::fs::File>,
        stdout: std::fs::File,
        /// Bytes read but not yet returned as lines.
        pending: Vec<u8>,
        /// How many bytes at the start of `pending` the last line returned took (dropped at
        /// the next receive: until then the caller borrows them).
        returned: usize,
        /// How far `pending` is known to hold no newline.
        scanned: usize,
        /// Reused for every read (allocated once: zeroing it per read would cost more than
        /// the read).
        chunk: Vec<u8>,
        closed: bool,
    }

    impl PollLink {
        pub(in crate::adapters::process) fn new(
            stdin: OwnedFd,
            stdout: OwnedFd,
        ) -> std::io::Result<PollLink> {
            set_nonblocking(&stdin)?;
            set_nonblocking(&stdout)?;
            Ok(PollLink {
                stdin: Some(std::fs::File::from(stdin)),
                stdout: std::fs::File::from(stdout),
                pending: Vec::with_capacity(64 * 1024),
                returned: 0,
                scanned: 0,
                chunk: vec![0; 64 * 1024],
                closed: false,
            })
        }

        /// The length of the next complete line in `pending` with its newline, if there is
        /// one.
        fn next_line_len(&mut self) -> Option<usize> {
            let newline = find_newline(&self.pending[self.scanned..]).map(|at| self.scanned + at);
            match newline {
                Some(at) => {
                    self.scanned = 0;
                    Some(at + 1)
                }
                None => {
                    self.scanned = self.pending.len();
                    None
                }
            }
        }

        /// Drop the first `len` bytes of `pending`.
        fn consume(&mut self, len: usize) {
            self.pending.drain(..len);
            self.scanned = self.scanned.saturating_sub(len);
        }
    }

    fn set_nonblocking(fd: &OwnedFd) -> std::io::Result<()> {
        let raw = fd.as_raw_fd();
        // SAFETY: fcntl(2) on a descriptor this struct owns; no memory is passed.
        let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
        if flags < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: as above.
        if unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Wait until `fd` is ready for `events` or the deadline passes (`Ok(false)`).
    fn wait(
        fd: &impl AsRawFd,
        events: libc::c_short,
        deadline: Instant,
    ) -> Result<bool, LinkError> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            let millis = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
            let mut poll_fd = libc::pollfd {
                fd: fd.as_raw_fd(),
                events,
                revents: 0,
            };
            // SAFETY: one valid pollfd, and the count says one.
            let ready = unsafe { libc::poll(&mut poll_fd, 1, millis) };
            if ready > 0 {
                return Ok(true);
            }
            if ready < 0 {
                let error = std::io::Error::last_os_error();
                if error.kind() != ErrorKind::Interrupted {
                    return Err(LinkError::Io(error.to_string()));
                }
            }
        }
    }

    impl Link for PollLink {
        fn send(&mut self, line: &[u8], deadline: Instant) -> Result<(), LinkError> {
            let Some(stdin) = self.stdin.as_mut() else {
                return Err(LinkError::Closed);
            };
            let mut rest = line;
            while !rest.is_empty() {
                match stdin.write(rest) {
                    Ok(0) => return Err(LinkError::Closed),
                    Ok(n) => rest = &rest[n..],
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        if !wait(stdin, libc::POLLOUT, deadline)? {
                            return Err(LinkError::Timeout);
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == ErrorKind::BrokenPipe => return Err(LinkError::Closed),
                    Err(e) => return Err(LinkError::Io(e.to_string())),
                }
            }
            Ok(())
        }

        fn receive(&mut self, deadline: Instant) -> Result<&str, LinkError> {
            let returned = std::mem::take(&mut self.returned);
            self.consume(returned);
            let len = loop {
                if let Some(len) = self.next_line_len() {
                    if is_blank(&self.pending[..len]) {
                        self.consume(len);
                        continue;
                    }
                    break len;
                }
                if self.closed {
                    if is_blank(&self.pending) {
                        self.pending.clear();
                        return Err(LinkError::Closed);
                    }
                    // A last line without a newline.
                    break self.pending.len();
                }
                if self.pending.len() > MAX_LINE_BYTES {
                    return Err(LinkError::TooLong);
                }
                // An answer is rarely there before we ask: wait first, then read.
                if !wait(&self.stdout, libc::POLLIN, deadline)? {
                    return Err(LinkError::Timeout);
                }
                match self.stdout.read(&mut self.chunk) {
                    Ok(0) => self.closed = true,
                    Ok(n) => self.pending.extend_from_slice(&self.chunk[..n]),
                    Err(e)
                        if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                    Err(e) => return Err(LinkError::Io(e.to_string())),
                }
            };
            self.returned = len;
            line_of(&self.pending[..len])
        }

        fn close(&mut self) {
            self.stdin = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_are_found_at_every_position() {
        for len in 0..40 {
            let mut bytes: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert_eq!(find_newline(&bytes), None);
            for at in 0..len {
                bytes[at] = b'\n';
                assert_eq!(find_newline(&bytes), Some(at), "{len} {at}");
                // A second newline later, bytes around 0x0a and above 0x80 change nothing.
                if at + 3 < len {
                    bytes[at + 3] = b'\n';
                    bytes[at + 1] = 0x0b;
                    bytes[at + 2] = 0x8a;
                }
                assert_eq!(find_newline(&bytes), Some(at), "{len} {at}");
                if at > 0 {
                    bytes[at - 1] = 0x09;
                    assert_eq!(find_newline(&bytes), Some(at), "{len} {at}");
                }
                bytes = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            }
        }
        assert_eq!(find_newline(&[0x8a; 9]), None);
    }
}
