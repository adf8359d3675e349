//! The access log: one JSON line per request. Each worker thread formats
//! lines into its own buffer and writes whole lines in batches (when the
//! buffer fills, and from the worker's flush tick), so a request never waits
//! on a lock or a system call and lines from different threads never mix.

use std::cell::RefCell;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Where access log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Off,
    Stdout,
    File(PathBuf),
}

impl Target {
    /// `off`, `stdout`, or a file path (appended to).
    pub fn from_setting(s: &str) -> Self {
        match s {
            "off" | "" => Target::Off,
            "stdout" | "-" => Target::Stdout,
            path => Target::File(path.into()),
        }
    }
}

enum Sink {
    Stdout,
    /// The file, and its path for [`reopen`].
    File(Mutex<File>, PathBuf),
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// A thread's buffer is written out once it holds this much.
const FLUSH_AT: usize = 32 << 10;
/// How often workers write out what their buffers hold.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(FLUSH_AT + 1024));
}

/// Opens the log once per process. `Off` leaves it closed.
pub fn open(target: &Target) -> std::io::Result<()> {
    let sink = match target {
        Target::Off => return Ok(()),
        Target::Stdout => Sink::Stdout,
        Target::File(path) => Sink::File(Mutex::new(append_to(path)?), path.clone()),
    };
    // A second call (several gateways in one process) keeps the first log.
    let _ = SINK.set(sink);
    Ok(())
}

fn append_to(path: &PathBuf) -> std::io::Result<File> {
    File::options().create(true).append(true).open(path)
}

/// Opens the log file again at its path (after log rotation moved the old
/// one away); lines already buffered go to the new file. Without a file, nothing.
pub fn reopen() -> std::io::Result<()> {
    let Some(Sink::File(file, path)) = SINK.get() else { return Ok(()) };
    let fresh = append_to(path)?;
    let mut current = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    *current = fresh;
    Ok(())
}

pub fn enabled() -> bool {
    SINK.get().is_some()
}

/// Appends one line, formatted by `line`, to this thread's buffer.
pub fn write(line: impl FnOnce(&mut Vec<u8>)) {
    let Some(sink) = SINK.get() else { return };
    BUFFER.with(|b| {
        let Ok(mut buf) = b.try_borrow_mut() else { return };
        line(&mut buf);
        buf.push(b'\n');
        if buf.len() >= FLUSH_AT {
            write_out(sink, &mut buf);
        }
    });
}

/// Writes out this thread's buffered lines.
pub fn flush() {
    let Some(sink) = SINK.get() else { return };
    BUFFER.with(|b| {
        if let Ok(mut buf) = b.try_borrow_mut()
            && !buf.is_empty()
        {
            write_out(sink, &mut buf);
        }
    });
}

fn write_out(sink: &Sink, buf: &mut Vec<u8>) {
    // Losing log lines must never stop requests: write errors are reported, not raised.
    let written = match sink {
        Sink::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(buf).and_then(|_| out.flush())
        }
        Sink::File(f, _) => match f.lock() {
            Ok(mut f) => f.write_all(buf),
            Err(poisoned) => poisoned.into_inner().write_all(buf),
        },
    };
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot write the access log");
    }
    buf.clear();
}

/// Appends `s` as a JSON string.
pub fn json_str(buf: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, s);
}

thread_local! {
    /// `YYYY-MM-DDTHH:MM:SS` of the last second formatted on this thread.
    static SECOND: RefCell<(u64, [u8; 19])> = const { RefCell::new((u64::MAX, [0; 19])) };
}

/// Appends the current UTC time as RFC 3339 with milliseconds, e.g. `2026-11-22T08:43:32.123Z`.
pub fn now_rfc3339(buf: &mut Vec<u8>) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs();
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let t = time::OffsetDateTime::from_unix_timestamp(secs as i64).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            let mut text = [0u8; 19];
            let formatted = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
            if formatted.len() == 19 {
                text.copy_from_slice(formatted.as_bytes());
                *cached = (secs, text);
            }
        }
        buf.extend_from_slice(&cached.1);
    });
    let _ = write!(buf, ".{:03}Z", now.subsec_millis());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(Target::from_setting("off"), Target::Off);
        assert_eq!(Target::from_setting("stdout"), Target::Stdout);
        assert_eq!(Target::from_setting("/var/log/causeway.log"), Target::File("/var/log/causeway.log".into()));
    }

    #[test]
    fn times_are_rfc3339_utc_with_milliseconds() {
        let mut buf = Vec::new();
        now_rfc3339(&mut buf);
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text.len(), 24, "{text}");
        assert!(time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).is_ok(), "{text}");
    }

    #[test]
    fn strings_are_escaped() {
        let mut buf = Vec::new();
        json_str(&mut buf, "a\"b\\c\n");
        assert_eq!(buf, br#""a\"b\\c\n""#);
    }
}
