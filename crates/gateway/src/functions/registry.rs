//! The function registry as the data plane sees it: every callable version
//! and alias of every function by `package:name:qualifier`, built with each
//! snapshot (no store access on the request path), and how one is run — on
//! the function runtime's worker threads, at its URL (`http` runtime), or
//! queued to run asynchronously. FUNCTION backends and custom authorizers
//! both call functions through here.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use causeway_functions::{Answer, Code, Failure, Pool, PushHook, Request};
use causeway_model::function::{self as model, Function, FunctionAlias, FunctionRuntime, FunctionSpec, FunctionVersion, LATEST};
use http::HeaderValue;
use rustc_hash::FxHashMap;

use crate::functions::async_queue::AsyncQueue;
use crate::functions::event::{self, AnswerMode, EventFormat, FunctionAnswer};
use crate::functions::remote::Remote;
use crate::functions::target::{self, FunctionTarget};
use crate::http::error::{GatewayError, errors};

/// One callable version of a function.
#[derive(Debug)]
pub struct FunctionEntry {
    pub code: Arc<Code>,
    pub event_format: EventFormat,
    pub answer_mode: AnswerMode,
    /// Asynchronous invocations: attempts after a failed one.
    pub async_retries: u32,
    /// `http` runtime: where the event is POSTed, or why it cannot be.
    remote: Option<Result<Remote, String>>,
}

/// The registry's functions by `package:name:qualifier`, and the runtime that runs them.
#[derive(Default)]
pub struct Functions {
    by_key: FxHashMap<String, Arc<FunctionEntry>>,
    pool: Option<Arc<Pool>>,
    queue: Option<AsyncQueue>,
}

impl std::fmt::Debug for Functions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Functions").field("entries", &self.by_key.len()).field("runtime", &self.pool.is_some()).finish()
    }
}

fn entry(f: &Function, version: &str, code_key: String, spec: &FunctionSpec) -> Arc<FunctionEntry> {
    Arc::new(FunctionEntry {
        code: Arc::new(Code {
            key: code_key,
            name: f.name.clone(),
            version: version.to_string(),
            source: spec.code.clone().unwrap_or_default(),
            handler: spec.handler.clone(),
            memory_mib: spec.memory_size,
            timeout: Duration::from_millis(u64::from(spec.timeout)),
            environment: spec.environment.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            split_body: spec.response_mode == model::ResponseMode::Integration,
        }),
        event_format: match spec.event_format {
            model::EventFormat::Apig => EventFormat::Apig,
            model::EventFormat::Scf => EventFormat::Scf,
        },
        answer_mode: match spec.response_mode {
            model::ResponseMode::Integration => AnswerMode::Integration,
            model::ResponseMode::Passthrough => AnswerMode::Passthrough,
        },
        async_retries: spec.max_async_retry_attempts,
        remote: (spec.runtime == FunctionRuntime::Http).then(|| Remote::compile(spec.url.as_deref().unwrap_or_default())),
    })
}

impl Functions {
    pub fn build<'a>(
        pool: Option<Arc<Pool>>,
        queue: Option<AsyncQueue>,
        functions: impl Iterator<Item = &'a Function>,
        versions: impl Iterator<Item = &'a FunctionVersion>,
        aliases: impl Iterator<Item = &'a FunctionAlias>,
    ) -> Self {
        let mut by_id: FxHashMap<&str, &Function> = FxHashMap::default();
        let mut by_key = FxHashMap::default();
        for f in functions {
            by_id.insert(&f.id, f);
            // The draft's code key changes with every edit: warm instances of old code are not reused.
            by_key.insert(target::key(&f.package, &f.name, LATEST), entry(f, LATEST, format!("{}:latest:{}", f.id, f.revision), &f.spec));
        }
        for v in versions {
            if let Some(f) = by_id.get(v.function_id.as_str()) {
                by_key.insert(target::key(&f.package, &f.name, &v.version), entry(f, &v.version, format!("{}:{}", f.id, v.version), &v.spec));
            }
        }
        for a in aliases {
            if let Some(f) = by_id.get(a.function_id.as_str())
                && let Some(target) = by_key.get(&target::key(&f.package, &f.name, &a.version)).cloned()
            {
                by_key.insert(target::key(&f.package, &f.name, &a.name), target);
            }
        }
        Self { by_key, pool, queue }
    }

    fn resolve(&self, target: &FunctionTarget) -> Option<&Arc<FunctionEntry>> {
        self.by_key.get(target.key())
    }

    /// Runs the function for one request: the event in, its answer mapped to a response.
    pub async fn call(&self, target: &FunctionTarget, request_id: &str, event: impl FnOnce(EventFormat) -> String) -> Result<FunctionAnswer, GatewayError> {
        let Some(entry) = self.resolve(target) else {
            return Err(errors::FUNCTION_NOT_FOUND.with_message(format!("The backend function {} does not exist", target.urn)));
        };
        if target.asynchronous {
            let Some(queue) = &self.queue else {
                return Err(errors::BACKEND_NOT_SERVED.with_message("asynchronous invocations are not served by this process".into()));
            };
            let timeout_ms = u32::try_from(target.timeout.min(entry.code.timeout).as_millis()).unwrap_or(u32::MAX);
            queue.enqueue(&target.urn, target.key(), request_id, event(entry.event_format), timeout_ms, entry.async_retries).await?;
            let body = serde_json::json!({ "request_id": request_id }).to_string();
            return Ok(FunctionAnswer {
                status: http::StatusCode::ACCEPTED,
                headers: vec![(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                body: Bytes::from(body),
            });
        }
        let (json, body) = self.run(entry, target, request_id, event).await?;
        event::answer(entry.answer_mode, json.as_deref(), body).map_err(|m| {
            tracing::warn!(request_id, function = %target.urn, error = %m, "function answer not usable");
            errors::FUNCTION_FAILED.with_message(format!("The backend function returned a malformed answer: {}", m.0))
        })
    }

    /// Runs a function for a custom authorizer: its value as JSON text, with
    /// a string `body` handed over apart (integration mode).
    pub async fn decide(&self, target: &FunctionTarget, request_id: &str, event: impl FnOnce(EventFormat) -> String) -> Result<(Option<String>, Option<String>), GatewayError> {
        let Some(entry) = self.resolve(target) else {
            return Err(errors::FUNCTION_NOT_FOUND.with_message(format!("The function {} does not exist", target.urn)));
        };
        self.run(entry, target, request_id, event).await
    }

    /// Runs a function of a WebSocket API: its value as JSON (a string
    /// `body` put back in), with `push` as its `context.websocket`.
    pub async fn run_value_for(
        &self,
        target: &FunctionTarget,
        request_id: &str,
        event: impl FnOnce(EventFormat) -> String,
        push: Option<PushHook>,
    ) -> Result<Option<serde_json::Value>, GatewayError> {
        let Some(entry) = self.resolve(target) else {
            return Err(errors::FUNCTION_NOT_FOUND.with_message(format!("The function {} does not exist", target.urn)));
        };
        let (json, body) = self.run_with(entry, target, request_id, event, push).await?;
        let parse = |text: &str| serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_string()));
        let mut value = json.as_deref().map(parse);
        if let (Some(serde_json::Value::Object(obj)), Some(body)) = (&mut value, body) {
            obj.insert("body".into(), serde_json::Value::String(body));
        }
        Ok(value)
    }

    /// Runs one synchronous invocation, on the runtime or at the function's URL.
    async fn run(
        &self,
        entry: &FunctionEntry,
        target: &FunctionTarget,
        request_id: &str,
        event: impl FnOnce(EventFormat) -> String,
    ) -> Result<(Option<String>, Option<String>), GatewayError> {
        self.run_with(entry, target, request_id, event, None).await
    }

    async fn run_with(
        &self,
        entry: &FunctionEntry,
        target: &FunctionTarget,
        request_id: &str,
        event: impl FnOnce(EventFormat) -> String,
        push: Option<PushHook>,
    ) -> Result<(Option<String>, Option<String>), GatewayError> {
        if let Some(remote) = &entry.remote {
            let remote = remote.as_ref().map_err(|why| errors::BACKEND_NOT_SERVED.with_message(why.clone()))?;
            let timeout = target.timeout.min(entry.code.timeout);
            return Ok((remote.invoke(request_id, event(entry.event_format), timeout).await?, None));
        }
        let Some(pool) = &self.pool else {
            return Err(errors::BACKEND_NOT_SERVED.with_message("the function runtime is not running".into()));
        };
        let request = Request { request_id: request_id.to_string(), event: event(entry.event_format), timeout: Some(target.timeout), push };
        let outcome = pool.invoke(entry.code.clone(), request).await;
        for line in &outcome.logs {
            match line.level {
                "error" | "warn" => tracing::warn!(request_id, function = %target.urn, console = line.level, "{}", line.message),
                _ => tracing::info!(request_id, function = %target.urn, console = line.level, "{}", line.message),
            }
        }
        match outcome.result {
            Ok(Answer::Nothing) => Ok((None, None)),
            Ok(Answer::Json(j)) => Ok((Some(j), None)),
            Ok(Answer::WithBody { json, body }) => Ok((Some(json), Some(body))),
            Err(Failure::Timeout) => Err(errors::BACKEND_TIMEOUT),
            Err(Failure::Overloaded) => Err(errors::BACKEND_UNAVAILABLE.with_message("The function runtime is overloaded".into())),
            Err(f) => {
                // Details go to the log, not to the caller.
                tracing::warn!(request_id, function = %target.urn, error = %f, "function failed");
                Err(errors::FUNCTION_FAILED)
            }
        }
    }
}

impl Functions {
    /// Runs an asynchronous invocation: the function's value as JSON, or why it failed.
    pub async fn run_value(&self, key: &str, request_id: &str, event: String, timeout: Duration) -> Result<Option<serde_json::Value>, String> {
        let entry = self.by_key.get(key).ok_or_else(|| format!("the function {key} does not exist"))?;
        let timeout = timeout.min(entry.code.timeout);
        let parse = |text: &str| serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_string()));
        if let Some(remote) = &entry.remote {
            let remote = remote.as_ref().map_err(Clone::clone)?;
            let value = remote.invoke(request_id, event, timeout).await.map_err(|e| e.message.to_string())?;
            return Ok(value.as_deref().map(parse));
        }
        let pool = self.pool.as_ref().ok_or("the function runtime is not running")?;
        let outcome = pool.invoke(entry.code.clone(), Request { request_id: request_id.to_string(), event, timeout: Some(timeout), push: None }).await;
        for line in &outcome.logs {
            tracing::info!(request_id, function = key, console = line.level, "{}", line.message);
        }
        match outcome.result.map_err(|f| f.to_string())? {
            Answer::Nothing => Ok(None),
            Answer::Json(json) => Ok(Some(parse(&json))),
            Answer::WithBody { json, body } => {
                let mut value = parse(&json);
                if let Some(obj) = value.as_object_mut() {
                    obj.insert("body".into(), serde_json::Value::String(body));
                }
                Ok(Some(value))
            }
        }
    }
}

