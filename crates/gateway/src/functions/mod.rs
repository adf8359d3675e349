//! Calling functions: the registry of callable versions and aliases
//! (`registry`), which one a URN names (`target`), the event a function gets
//! and how its answer is read (`event`), functions at a URL (`remote`), and
//! asynchronous invocations stored (`async_queue`) and run in the background
//! (`async_runner`).
//! Used by FUNCTION backends and by custom authorizers.

pub(crate) mod async_queue;
pub(crate) mod async_runner;
pub(crate) mod event;
pub(crate) mod registry;
mod remote;
pub(crate) mod target;
