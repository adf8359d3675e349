//! The function runtime: the code of `FUNCTION` backends and custom
//! authorizers, run by the gateway itself.
//!
//! * [`sandbox`]: one QuickJS instance per function version — its own heap
//!   with the function's memory limit, a stack limit, and a deadline that
//!   interrupts the code at its timeout. Nothing of one function is
//!   reachable from another; there is no file, network or process access.
//! * [`pool`]: worker threads (never the gateway's async workers) fed by a
//!   bounded queue; each keeps warm instances and reuses them across
//!   invocations, recycling one after an error, a limit hit, or
//!   [`PoolConfig::max_uses`] invocations.
//!
//! A function is CommonJS-style JavaScript exporting its handler:
//! `exports.handler = async (event, context) => ({statusCode: 200, body: "…"})`.
//! The answer is the handler's value (or what its promise resolves to) as JSON.

mod memory;
pub mod pool;
pub mod sandbox;

use std::time::Duration;

pub use pool::{Pool, PoolConfig};
pub use sandbox::{SyntaxError, check_syntax};

/// One version of a function, as the runtime runs it.
#[derive(Debug, Clone)]
pub struct Code {
    /// Identifies this code: instances are reused only for the same key, so
    /// a changed function must come with a new key (e.g. URN and revision).
    pub key: String,
    pub name: String,
    pub version: String,
    pub source: String,
    /// The exported function to call (`index.handler` → `handler`).
    pub handler: String,
    pub memory_mib: u32,
    pub timeout: Duration,
    /// `process.env` and `context.getUserData(key)`.
    pub environment: Vec<(String, String)>,
    /// The answer is HTTP-shaped (`{statusCode, headers, body}`): a string
    /// `body` is handed over as is rather than escaped into JSON and back.
    pub split_body: bool,
}

/// One invocation's input.
#[derive(Debug, Clone)]
pub struct Request {
    pub request_id: String,
    /// The event, as JSON text.
    pub event: String,
    /// A shorter limit than the function's own timeout (the caller's), if any.
    pub timeout: Option<Duration>,
    /// What `context.websocket` reaches in this invocation, if anything.
    pub push: Option<PushHook>,
}

/// The gateway's reverse-push endpoint as a function's code reaches it
/// (`context.websocket.push(document)`, `.send(id, data)`, `.close(id)`):
/// takes the push document as JSON text and answers JSON text, without
/// blocking. It is the only way out of the sandbox, and the host decides
/// which connections it reaches.
#[derive(Clone)]
pub struct PushHook(pub std::sync::Arc<dyn Fn(&str) -> String + Send + Sync>);

impl std::fmt::Debug for PushHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PushHook")
    }
}

/// Why an invocation produced no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("the function ran longer than its timeout")]
    Timeout,
    #[error("the function used more memory than its limit")]
    MemoryLimit,
    /// An uncaught exception or a rejected promise: message and stack.
    #[error("the function threw: {0}")]
    Exception(String),
    /// The handler returned a promise that can never settle.
    #[error("the function's promise never settled")]
    NeverSettled,
    /// The code does not load, or does not export the handler.
    #[error("the function cannot be loaded: {0}")]
    Load(String),
    #[error("the function runtime is overloaded")]
    Overloaded,
    #[error("the function runtime has stopped")]
    Stopped,
}

/// A line the function logged with `console.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: &'static str,
    pub message: String,
}

/// What the handler answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `undefined`.
    Nothing,
    /// The value as JSON.
    Json(String),
    /// With [`Code::split_body`], an object with a string `body`: its
    /// `statusCode`, `headers` and `isBase64Encoded` as JSON, and the body.
    WithBody { json: String, body: String },
}

/// What one invocation produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub result: Result<Answer, Failure>,
    /// What the function logged, capped at [`sandbox::MAX_LOG_BYTES`].
    pub logs: Vec<LogLine>,
    /// Time spent running the function (not waiting for a worker).
    pub duration: Duration,
}

impl Outcome {
    fn failed(f: Failure) -> Self {
        Self { result: Err(f), logs: Vec::new(), duration: Duration::ZERO }
    }
}
