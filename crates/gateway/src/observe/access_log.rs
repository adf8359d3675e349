//! The access log: one JSON line per request. Each worker thread formats
//! lines into its own buffer and hands whole lines over in batches (when the
//! buffer fills, and from the worker's flush tick) to the log's writer
//! thread, which writes them to stdout or the file. A request never waits on
//! a lock or a system call, lines from different threads never mix, and a
//! full pipe or disk never stops requests: when the writer is more than
//! [`QUEUED_BATCHES`] batches behind, a batch is dropped and its lines
//! counted in `causeway_access_log_dropped_lines_total`. At a clean shutdown
//! the workers' last batches wait for room and [`finish`] waits for the
//! writer, so no line is lost.

use std::cell::RefCell;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::observe::metrics::ACCESS_LOG_DROPPED;

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

/// What the writer thread is given: lines, or a request to say it has written everything before.
enum Batch {
    Lines(Vec<u8>),
    Drained(SyncSender<()>),
}

/// The open log: where lines go, and the queue to its writer thread.
struct Log {
    sink: Arc<Sink>,
    queue: SyncSender<Batch>,
}

static SINK: OnceLock<Log> = OnceLock::new();

/// Batches (of up to ~32 KiB) waiting for the writer before new ones are dropped.
pub const QUEUED_BATCHES: usize = 64;

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
    if SINK.get().is_some() {
        return Ok(());
    }
    let sink = Arc::new(sink);
    let (queue, batches) = sync_channel(QUEUED_BATCHES);
    let writer = sink.clone();
    std::thread::Builder::new().name("causeway-access-log".into()).spawn(move || write_batches(&writer, batches))?;
    let _ = SINK.set(Log { sink, queue });
    Ok(())
}

/// The writer thread: writes each batch as it comes, whatever it takes.
fn write_batches(sink: &Sink, batches: Receiver<Batch>) {
    while let Ok(batch) = batches.recv() {
        match batch {
            Batch::Lines(lines) => write_out(sink, &lines),
            Batch::Drained(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Waits (up to `within`) until the writer has written every batch handed over so far.
pub fn finish(within: Duration) {
    let Some(log) = SINK.get() else { return };
    let (done, wait) = sync_channel(1);
    if log.queue.send(Batch::Drained(done)).is_ok() {
        let _ = wait.recv_timeout(within);
    }
}

fn append_to(path: &PathBuf) -> std::io::Result<File> {
    File::options().create(true).append(true).open(path)
}

/// Opens the log file again at its path (after log rotation moved the old
/// one away); lines already buffered go to the new file. Without a file, nothing.
pub fn reopen() -> std::io::Result<()> {
    let Some(Sink::File(file, path)) = SINK.get().map(|l| &*l.sink) else { return Ok(()) };
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
    let Some(log) = SINK.get() else { return };
    BUFFER.with(|b| {
        let Ok(mut buf) = b.try_borrow_mut() else { return };
        line(&mut buf);
        buf.push(b'\n');
        if buf.len() >= FLUSH_AT {
            hand_over(log, &mut buf, false);
        }
    });
}

/// Hands this thread's buffered lines to the writer (from the worker's flush tick).
pub fn flush() {
    flush_with(false);
}

/// The same at shutdown: waits for room rather than dropping the lines.
pub fn flush_last() {
    flush_with(true);
}

fn flush_with(wait: bool) {
    let Some(log) = SINK.get() else { return };
    BUFFER.with(|b| {
        if let Ok(mut buf) = b.try_borrow_mut()
            && !buf.is_empty()
        {
            hand_over(log, &mut buf, wait);
        }
    });
}

/// Queues the buffer's lines for the writer; a full queue drops them (counted) unless `wait`.
fn hand_over(log: &Log, buf: &mut Vec<u8>, wait: bool) {
    let lines = std::mem::replace(buf, Vec::with_capacity(FLUSH_AT + 1024));
    let refused = if wait {
        log.queue.send(Batch::Lines(lines)).err().map(|e| e.0)
    } else {
        match log.queue.try_send(Batch::Lines(lines)) {
            Ok(()) => None,
            Err(TrySendError::Full(b) | TrySendError::Disconnected(b)) => Some(b),
        }
    };
    if let Some(Batch::Lines(lines)) = refused {
        metrics::counter!(ACCESS_LOG_DROPPED).increment(memchr::memchr_iter(b'\n', &lines).count() as u64);
    }
}

fn write_out(sink: &Sink, buf: &[u8]) {
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
