//! One function version in its own QuickJS runtime: a separate heap with
//! the function's memory limit, a stack limit, and a deadline checked by the
//! engine's interrupt hook, so a runaway loop stops at its timeout.
//!
//! The code is wrapped as a CommonJS module, `(function (exports, module,
//! require) { … })`, and run once when the instance loads; its handler is
//! then called once per invocation. Globals the code sets survive between
//! invocations of the same warm instance (as on Lambda or FunctionGraph),
//! and never reach another function's instance.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rquickjs::context::EvalOptions;
use rquickjs::{Coerced, Context, Ctx, Exception, Function, Object, Persistent, Runtime, Value};

use crate::memory::Budget;
use crate::{Answer, Code, Failure, LogLine, Outcome, PushHook, Request};

const MIB: usize = 1 << 20;
/// The JavaScript stack an instance may use (the worker threads have more).
pub const MAX_STACK_BYTES: usize = 1 << 20;
/// What one invocation may log; the rest is dropped with a note.
pub const MAX_LOG_BYTES: usize = 64 * 1024;
/// Largest source accepted by [`check_syntax`] and [`Instance::load`].
pub const MAX_SOURCE_BYTES: usize = 1 << 20;
const NO_DEADLINE: u64 = u64::MAX;
const PRELUDE: &str = include_str!("prelude.js");

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn after(d: Duration) -> u64 {
    now_ns().saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[derive(Default)]
struct Logs {
    lines: Vec<LogLine>,
    bytes: usize,
    truncated: bool,
}

impl Logs {
    fn push(&mut self, level: &'static str, message: String) {
        if self.bytes + message.len() > MAX_LOG_BYTES {
            if !self.truncated {
                self.truncated = true;
                self.lines.push(LogLine { level: "warn", message: format!("log output over {MAX_LOG_BYTES} bytes dropped") });
            }
            return;
        }
        self.bytes += message.len();
        self.lines.push(LogLine { level, message });
    }
}

fn level(name: &str) -> &'static str {
    match name {
        "debug" => "debug",
        "warn" => "warn",
        "error" => "error",
        _ => "info",
    }
}

/// A loaded function: its runtime, context, and the handler ready to call.
pub struct Instance {
    // Declared before the context and runtime: dropped first.
    invoke: Persistent<Function<'static>>,
    handler: Persistent<Function<'static>>,
    context: Context,
    _runtime: Runtime,
    deadline: Arc<AtomicU64>,
    /// An allocation was refused: the memory limit was reached.
    out_of_memory: Rc<Cell<bool>>,
    logs: Rc<RefCell<Logs>>,
    /// The current invocation's way to the reverse-push endpoint.
    push: Rc<RefCell<Option<PushHook>>>,
    /// Invocations served so far.
    pub uses: u32,
}

/// The handler's name in the exports: `index.handler` → `handler`.
fn export_name(handler: &str) -> &str {
    handler.rsplit('.').next().unwrap_or(handler)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// The module wrapper, on the code's first line so line numbers match the
/// source. A top-level `function main_handler(…)` is found too.
fn wrap(source: &str, export: &str) -> String {
    let fallback = if is_identifier(export) { format!("typeof {export} === 'function' ? {export} : undefined") } else { "undefined".to_string() };
    format!("(function (exports, module, require) {{{source}\n;return {fallback};\n}})")
}

fn eval_options(name: &str) -> EvalOptions {
    let mut opts = EvalOptions::default();
    // CommonJS code is sloppy unless it says otherwise.
    opts.strict = false;
    opts.filename = Some(format!("{name}.js"));
    opts
}

/// What the thrown value says: message and stack for errors, else its text.
fn describe(value: &Value<'_>) -> String {
    if let Some(e) = value.as_exception() {
        let message = e.message().unwrap_or_default();
        let name: Option<Coerced<String>> = e.get("name").ok();
        let head = match name {
            Some(Coerced(n)) if !n.is_empty() => format!("{n}: {message}"),
            _ => message,
        };
        return match e.stack() {
            Some(stack) if !stack.trim().is_empty() => format!("{head}\n{}", stack.trim_end()),
            _ => head,
        };
    }
    value.get::<Coerced<String>>().map(|c| c.0).unwrap_or_else(|_| "a value that is not an error".to_string())
}

/// Turns an engine error into a [`Failure`]: a passed deadline is a timeout
/// whatever the engine reports; memory exhaustion is the memory limit.
fn failure(ctx: &Ctx<'_>, e: rquickjs::Error, deadline: u64) -> Failure {
    let caught = matches!(e, rquickjs::Error::Exception).then(|| ctx.catch());
    if now_ns() > deadline {
        return Failure::Timeout;
    }
    match e {
        rquickjs::Error::Allocation => Failure::MemoryLimit,
        rquickjs::Error::Exception => {
            let text = caught.as_ref().map(describe).unwrap_or_default();
            if text.contains("out of memory") { Failure::MemoryLimit } else { Failure::Exception(text) }
        }
        other => Failure::Exception(other.to_string()),
    }
}

impl Instance {
    /// Creates the runtime and runs the function's top-level code (under the
    /// function's timeout and memory limit).
    pub fn load(code: &Code) -> Result<Self, Failure> {
        if code.source.len() > MAX_SOURCE_BYTES {
            return Err(Failure::Load(format!("the code is larger than {MAX_SOURCE_BYTES} bytes")));
        }
        let out_of_memory = Rc::new(Cell::new(false));
        let limit = usize::try_from(code.memory_mib).unwrap_or(usize::MAX).saturating_mul(MIB);
        let runtime = Runtime::new_with_alloc(Budget::new(limit, out_of_memory.clone()))
            .map_err(|e| Failure::Load(format!("cannot start a runtime: {e}")))?;
        runtime.set_max_stack_size(MAX_STACK_BYTES);
        let deadline = Arc::new(AtomicU64::new(NO_DEADLINE));
        let watched = deadline.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || now_ns() > watched.load(Ordering::Relaxed))));
        let context = Context::full(&runtime).map_err(|e| Failure::Load(format!("cannot create a context: {e}")))?;
        let logs = Rc::new(RefCell::new(Logs::default()));
        let push: Rc<RefCell<Option<PushHook>>> = Rc::new(RefCell::new(None));

        let until = after(code.timeout);
        deadline.store(until, Ordering::Relaxed);
        let loaded = context.with(|ctx| {
            let fail = |e| failure(&ctx, e, until);
            let native = Object::new(ctx.clone()).map_err(fail)?;
            let sink = logs.clone();
            let log = Function::new(ctx.clone(), move |lvl: String, message: String| sink.borrow_mut().push(level(&lvl), message)).map_err(fail)?;
            native.set("log", log).map_err(fail)?;
            let left = deadline.clone();
            let remaining = Function::new(ctx.clone(), move || -> f64 {
                let d = left.load(Ordering::Relaxed);
                if d == NO_DEADLINE { 0.0 } else { (d.saturating_sub(now_ns()) / 1_000_000) as f64 }
            })
            .map_err(fail)?;
            native.set("remaining", remaining).map_err(fail)?;
            let hook = push.clone();
            let push_fn = Function::new(ctx.clone(), move |document: String| -> String {
                match &*hook.borrow() {
                    Some(hook) => (hook.0)(&document),
                    None => r#"{"errNo":403,"errMsg":"only a WebSocket API's functions push to connections"}"#.to_string(),
                }
            })
            .map_err(fail)?;
            native.set("push", push_fn).map_err(fail)?;
            let env = Object::new(ctx.clone()).map_err(fail)?;
            for (k, v) in &code.environment {
                env.set(k.as_str(), v.as_str()).map_err(fail)?;
            }
            native.set("env", env).map_err(fail)?;
            let info = Object::new(ctx.clone()).map_err(fail)?;
            info.set("functionName", code.name.as_str()).map_err(fail)?;
            info.set("version", code.version.as_str()).map_err(fail)?;
            info.set("memoryMiB", code.memory_mib).map_err(fail)?;
            native.set("info", info).map_err(fail)?;
            let prelude: Function = ctx.eval_with_options(PRELUDE, eval_options("causeway-prelude")).map_err(fail)?;
            let invoke: Function = prelude.call((native,)).map_err(fail)?;

            let export = export_name(&code.handler);
            let factory: Function = ctx.eval_with_options(wrap(&code.source, export), eval_options(&code.name)).map_err(fail)?;
            let module = Object::new(ctx.clone()).map_err(fail)?;
            let exports = Object::new(ctx.clone()).map_err(fail)?;
            module.set("exports", exports.clone()).map_err(fail)?;
            let require = Function::new(ctx.clone(), |ctx: Ctx<'_>, name: Coerced<String>| -> rquickjs::Result<()> {
                Err(Exception::throw_message(&ctx, &format!("require('{}'): a function is one file; modules cannot be loaded", name.0)))
            })
            .map_err(fail)?;
            let declared: Value = factory.call((exports, module.clone(), require)).map_err(fail)?;
            let exported: Object = module.get("exports").map_err(fail)?;
            let handler: Value = exported.get(export).map_err(fail)?;
            let handler = match handler.into_function() {
                Some(f) => f,
                None => declared.into_function().ok_or_else(|| Failure::Load(format!("the code exports no function `{export}`")))?,
            };
            Ok::<_, Failure>((Persistent::save(&ctx, invoke), Persistent::save(&ctx, handler)))
        });
        deadline.store(NO_DEADLINE, Ordering::Relaxed);
        let (invoke, handler) = loaded.map_err(|f| match f {
            Failure::Exception(_) if out_of_memory.get() => Failure::MemoryLimit,
            Failure::Exception(text) => Failure::Load(text),
            other => other,
        })?;
        Ok(Self { invoke, handler, context, _runtime: runtime, deadline, out_of_memory, logs, push, uses: 0 })
    }

    /// Calls the handler with the event; waits for its promise if it returns one.
    pub fn invoke(&mut self, code: &Code, request: &Request) -> Outcome {
        self.uses = self.uses.saturating_add(1);
        let started = Instant::now();
        let limit = request.timeout.map_or(code.timeout, |t| t.min(code.timeout));
        let until = after(limit);
        self.deadline.store(until, Ordering::Relaxed);
        *self.push.borrow_mut() = request.push.clone();
        let result = self.context.with(|ctx| {
            let fail = |e| failure(&ctx, e, until);
            let invoke = self.invoke.clone().restore(&ctx).map_err(fail)?;
            let handler = self.handler.clone().restore(&ctx).map_err(fail)?;
            let timeout_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX) as f64;
            let event = event_value(&ctx, &request.event).map_err(fail)?;
            let value: Value = invoke.call((handler, event, request.request_id.as_str(), timeout_ms)).map_err(fail)?;
            let value = match value.as_promise().cloned() {
                Some(promise) => loop {
                    if let Some(settled) = promise.result::<Value>() {
                        break settled.map_err(fail)?;
                    }
                    if !ctx.execute_pending_job() {
                        // Nothing left to run: interrupted or out of memory
                        // inside a job, or a promise nothing will resolve.
                        if now_ns() > until {
                            return Err(Failure::Timeout);
                        }
                        let pending = ctx.catch();
                        if !pending.type_of().is_void() {
                            let text = describe(&pending);
                            return Err(if text.contains("out of memory") { Failure::MemoryLimit } else { Failure::Exception(text) });
                        }
                        return Err(Failure::NeverSettled);
                    }
                },
                None => value,
            };
            if value.is_undefined() {
                return Ok(Answer::Nothing);
            }
            if code.split_body
                && let Some(obj) = value.as_object()
                && let Ok(body) = obj.get::<_, Value>("body")
                && let Some(body) = body.as_string()
            {
                let body = body.to_string().map_err(fail)?;
                if let Some(json) = plain_answer(obj).map_err(fail)? {
                    return Ok(Answer::WithBody { json, body });
                }
                let rest = Object::new(ctx.clone()).map_err(fail)?;
                for key in ["statusCode", "headers", "isBase64Encoded"] {
                    rest.set(key, obj.get::<_, Value>(key).map_err(fail)?).map_err(fail)?;
                }
                let json = ctx.json_stringify(rest).map_err(fail)?.map(|s| s.to_string()).transpose().map_err(fail)?;
                return Ok(Answer::WithBody { json: json.unwrap_or_else(|| "{}".to_string()), body });
            }
            match ctx.json_stringify(value).map_err(fail)? {
                Some(json) => Ok(Answer::Json(json.to_string().map_err(fail)?)),
                // Functions and symbols have no JSON form.
                None => Ok(Answer::Nothing),
            }
        });
        self.deadline.store(NO_DEADLINE, Ordering::Relaxed);
        *self.push.borrow_mut() = None;
        let result = match result {
            Err(Failure::Exception(_) | Failure::NeverSettled) if self.out_of_memory.get() => Err(Failure::MemoryLimit),
            other => other,
        };
        let logs = std::mem::take(&mut *self.logs.borrow_mut());
        Outcome { result, logs: logs.lines, duration: started.elapsed() }
    }
}

/// The usual answer's other fields (a numeric `statusCode`, string
/// `headers`, a boolean `isBase64Encoded`) as JSON, written here rather than
/// by the engine's `JSON.stringify`; `None` for anything else.
fn plain_answer(answer: &Object<'_>) -> rquickjs::Result<Option<String>> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Plain {
        #[serde(skip_serializing_if = "Option::is_none")]
        status_code: Option<Number>,
        #[serde(skip_serializing_if = "Option::is_none")]
        headers: Option<Headers>,
        #[serde(skip_serializing_if = "Option::is_none")]
        is_base64_encoded: Option<bool>,
    }
    /// Written as JavaScript would: `201`, not `201.0`.
    #[derive(serde::Serialize)]
    #[serde(untagged)]
    enum Number {
        Int(i64),
        Float(f64),
    }
    struct Headers(Vec<(String, String)>);
    impl serde::Serialize for Headers {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }
    let status: Value = answer.get("statusCode")?;
    let status_code = match status.as_number() {
        Some(n) if n.fract() == 0.0 && n.abs() < 9e15 => Some(Number::Int(n as i64)),
        Some(n) if n.is_finite() => Some(Number::Float(n)),
        Some(_) => return Ok(None),
        None if status.is_undefined() => None,
        None => return Ok(None),
    };
    let headers: Value = answer.get("headers")?;
    let headers = match headers.as_object() {
        Some(h) if !h.is_array() => {
            let mut pairs = Vec::new();
            for prop in h.props::<String, Value>() {
                let (k, v) = prop?;
                match v.as_string() {
                    Some(v) => pairs.push((k, v.to_string()?)),
                    None => return Ok(None),
                }
            }
            Some(Headers(pairs))
        }
        None if headers.is_undefined() => None,
        _ => return Ok(None),
    };
    let encoded: Value = answer.get("isBase64Encoded")?;
    let is_base64_encoded = match encoded.as_bool() {
        Some(b) => Some(b),
        None if encoded.is_undefined() => None,
        None => return Ok(None),
    };
    Ok(serde_json::to_string(&Plain { status_code, headers, is_base64_encoded }).ok())
}

/// The event as a JavaScript value, built while its JSON text is read
/// (QuickJS's own `JSON.parse` copies strings character by character).
fn event_value<'js>(ctx: &Ctx<'js>, json: &str) -> rquickjs::Result<Value<'js>> {
    let mut reader = serde_json::Deserializer::from_str(json);
    let read = serde::de::DeserializeSeed::deserialize(JsSeed(ctx), &mut reader).and_then(|v| reader.end().map(|()| v));
    read.map_err(|e| Exception::throw_syntax(ctx, &format!("the event is not JSON: {e}")))
}

/// Reads one JSON value into a JavaScript value, keeping the keys' order.
struct JsSeed<'a, 'js>(&'a Ctx<'js>);

impl<'de, 'js> serde::de::DeserializeSeed<'de> for JsSeed<'_, 'js> {
    type Value = Value<'js>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value<'js>, D::Error> {
        d.deserialize_any(self)
    }
}

fn js_err<E: serde::de::Error>(e: rquickjs::Error) -> E {
    E::custom(e)
}

impl<'de, 'js> serde::de::Visitor<'de> for JsSeed<'_, 'js> {
    type Value = Value<'js>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value<'js>, E> {
        Ok(Value::new_bool(self.0.clone(), b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value<'js>, E> {
        Ok(match i32::try_from(n) {
            Ok(i) => Value::new_int(self.0.clone(), i),
            Err(_) => Value::new_float(self.0.clone(), n as f64),
        })
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value<'js>, E> {
        Ok(match i32::try_from(n) {
            Ok(i) => Value::new_int(self.0.clone(), i),
            Err(_) => Value::new_float(self.0.clone(), n as f64),
        })
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value<'js>, E> {
        Ok(Value::new_float(self.0.clone(), n))
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Value<'js>, E> {
        rquickjs::String::from_str(self.0.clone(), s).map(|s| s.into_value()).map_err(js_err)
    }

    fn visit_unit<E>(self) -> Result<Value<'js>, E> {
        Ok(Value::new_null(self.0.clone()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'js>, A::Error> {
        let array = rquickjs::Array::new(self.0.clone()).map_err(js_err)?;
        let mut i = 0;
        while let Some(item) = seq.next_element_seed(JsSeed(self.0))? {
            array.set(i, item).map_err(js_err)?;
            i += 1;
        }
        Ok(array.into_value())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value<'js>, A::Error> {
        let object = Object::new(self.0.clone()).map_err(js_err)?;
        while let Some(key) = map.next_key_seed(KeySeed(self.0))? {
            let value = map.next_value_seed(JsSeed(self.0))?;
            // Defined, as JSON.parse does: a `__proto__` key is data, not the prototype.
            object.prop(key, rquickjs::object::Property::from(value).writable().enumerable().configurable()).map_err(js_err)?;
        }
        Ok(object.into_value())
    }
}

/// Reads an object key straight into an engine atom.
struct KeySeed<'a, 'js>(&'a Ctx<'js>);

impl<'de, 'js> serde::de::DeserializeSeed<'de> for KeySeed<'_, 'js> {
    type Value = rquickjs::Atom<'js>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<rquickjs::Atom<'js>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, 'js> serde::de::Visitor<'de> for KeySeed<'_, 'js> {
    type Value = rquickjs::Atom<'js>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<rquickjs::Atom<'js>, E> {
        rquickjs::Atom::from_str(self.0.clone(), s).map_err(js_err)
    }
}

/// Where the code does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SyntaxError {
    pub line: u32,
    pub message: String,
}

/// Parses the code without running it, as the registry does on upload.
pub fn check_syntax(name: &str, source: &str) -> Result<(), SyntaxError> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(SyntaxError { line: 0, message: format!("the code is larger than {MAX_SOURCE_BYTES} bytes") });
    }
    let unexpected = |message: String| SyntaxError { line: 0, message };
    let runtime = Runtime::new().map_err(|e| unexpected(e.to_string()))?;
    runtime.set_memory_limit(64 * MIB);
    runtime.set_max_stack_size(MAX_STACK_BYTES);
    let until = after(Duration::from_secs(5));
    runtime.set_interrupt_handler(Some(Box::new(move || now_ns() > until)));
    let context = Context::full(&runtime).map_err(|e| unexpected(e.to_string()))?;
    context.with(|ctx| {
        // Compiling the wrapper creates the function without calling it.
        match ctx.eval_with_options::<Value, _>(wrap(source, "handler"), eval_options(name)) {
            Ok(_) => Ok(()),
            Err(rquickjs::Error::Exception) => {
                let thrown = ctx.catch();
                let (message, stack) = match thrown.as_exception() {
                    Some(e) => (e.message().unwrap_or_default(), e.stack().unwrap_or_default()),
                    None => (describe(&thrown), String::new()),
                };
                Err(SyntaxError { line: line_in(&stack, name), message })
            }
            Err(e) => Err(unexpected(e.to_string())),
        }
    })
}

/// The line of `<name>.js:LINE` in a stack trace.
fn line_in(stack: &str, name: &str) -> u32 {
    let file = format!("{name}.js:");
    stack
        .find(&file)
        .and_then(|i| stack[i + file.len()..].split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn code(source: &str) -> Code {
        Code {
            key: "k".into(),
            name: "hello".into(),
            version: "latest".into(),
            source: source.into(),
            handler: "index.handler".into(),
            memory_mib: 32,
            timeout: Duration::from_millis(500),
            environment: vec![("GREETING".into(), "hi".into())],
            split_body: false,
        }
    }

    fn request(event: &str) -> Request {
        Request { request_id: "req-1".into(), event: event.into(), timeout: None, push: None }
    }

    fn run(source: &str, event: &str) -> Outcome {
        let c = code(source);
        let mut i = Instance::load(&c).expect("loads");
        i.invoke(&c, &request(event))
    }

    #[test]
    fn events_arrive_as_json_parse_would_make_them() {
        let echo = "exports.handler = (event) => [JSON.stringify(event), Object.getPrototypeOf(event) === Object.prototype, Object.keys(event).join()];";
        let event = r#"{"z":1,"a":[1,2.5,-3,4294967296,null,true,"s\u00e9\n"],"__proto__":{"polluted":1},"n":{"deep":{"x":""}}}"#;
        let out = run(echo, event);
        let expected = r#"["{\"z\":1,\"a\":[1,2.5,-3,4294967296,null,true,\"sé\\n\"],\"__proto__\":{\"polluted\":1},\"n\":{\"deep\":{\"x\":\"\"}}}",true,"z,a,__proto__,n"]"#;
        assert_eq!(out.result, Ok(Answer::Json(expected.to_string())));
        assert!(matches!(run(echo, "{not json").result, Err(Failure::Exception(m)) if m.contains("not JSON")));
    }

    #[test]
    fn answers_with_a_body_keep_their_other_fields() {
        let split = |source: &str| {
            let c = Code { split_body: true, ..code(source) };
            Instance::load(&c).unwrap().invoke(&c, &request("{}")).result
        };
        let usual = split("exports.handler = () => ({statusCode: 201, headers: {'X-A': 'b'}, body: 'hi', isBase64Encoded: false});");
        assert_eq!(usual, Ok(Answer::WithBody { json: r#"{"statusCode":201,"headers":{"X-A":"b"},"isBase64Encoded":false}"#.into(), body: "hi".into() }));
        // Anything unusual goes through the engine's JSON.stringify, as before.
        let unusual = split("exports.handler = () => ({statusCode: '200', headers: {'X-N': 5}, body: 'hi'});");
        assert_eq!(unusual, Ok(Answer::WithBody { json: r#"{"statusCode":"200","headers":{"X-N":5}}"#.into(), body: "hi".into() }));
    }

    #[test]
    fn sync_and_async_handlers() {
        let sync = run("exports.handler = (event, context) => ({statusCode: 200, body: event.name + ' ' + context.getRequestID()});", r#"{"name":"ann"}"#);
        assert_eq!(sync.result, Ok(Answer::Json(r#"{"statusCode":200,"body":"ann req-1"}"#.to_string())));
        let asynchronous = run(
            "exports.handler = async (event) => { const v = await Promise.resolve(event.n * 2); return {v}; };",
            r#"{"n":21}"#,
        );
        assert_eq!(asynchronous.result, Ok(Answer::Json(r#"{"v":42}"#.to_string())));
        let nothing = run("exports.handler = () => {};", "{}");
        assert_eq!(nothing.result, Ok(Answer::Nothing));
        // SCF code: a top-level main_handler.
        let c = Code { handler: "index.main_handler".into(), ..code("function main_handler(event) { return 'scf ' + event.x; }") };
        let out = Instance::load(&c).unwrap().invoke(&c, &request(r#"{"x":1}"#));
        assert_eq!(out.result, Ok(Answer::Json(r#""scf 1""#.to_string())));
    }

    #[test]
    fn context_environment_and_console() {
        let out = run(
            r#"exports.handler = (event, context) => {
                 console.log('hello', {a: 1});
                 console.error(new Error('boom'));
                 return [context.getUserData('GREETING'), process.env.GREETING, context.getFunctionName(), context.getVersion(),
                         context.getMemorySize(), context.getRemainingTimeInMilliSeconds() > 0, context.request_id];
               };"#,
            "{}",
        );
        assert_eq!(out.result, Ok(Answer::Json(r#"["hi","hi","hello","latest",32,true,"req-1"]"#.to_string())));
        assert_eq!(out.logs[0], LogLine { level: "info", message: r#"hello {"a":1}"#.into() });
        assert_eq!(out.logs[1].level, "error");
        assert!(out.logs[1].message.starts_with("Error: boom"), "{:?}", out.logs[1]);
    }

    #[test]
    fn context_websocket_reaches_the_hook_of_the_invocation_only() {
        let c = code(
            "exports.handler = async (event, context) => [await context.websocket.send('c1', 'hi'), await context.websocket.close('c2'), await context.websocket.push({websocket: {action: 'x'}})];",
        );
        let mut i = Instance::load(&c).expect("loads");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let into = seen.clone();
        let hook = PushHook(std::sync::Arc::new(move |doc: &str| {
            into.lock().unwrap().push(doc.to_string());
            r#"{"errNo":0,"errMsg":"ok"}"#.to_string()
        }));
        let out = i.invoke(&c, &Request { push: Some(hook), ..request("{}") });
        assert_eq!(out.result, Ok(Answer::Json(r#"[{"errNo":0,"errMsg":"ok"},{"errNo":0,"errMsg":"ok"},{"errNo":0,"errMsg":"ok"}]"#.into())));
        assert_eq!(
            *seen.lock().unwrap(),
            [
                r#"{"websocket":{"action":"data send","secConnectionID":"c1","dataType":"text","data":"hi"}}"#,
                r#"{"websocket":{"action":"closing","secConnectionID":"c2"}}"#,
                r#"{"websocket":{"action":"x"}}"#
            ]
        );
        // The next invocation without a hook reaches nothing.
        let out = i.invoke(&c, &request("{}"));
        let Ok(Answer::Json(json)) = out.result else { panic!("{:?}", out.result) };
        assert!(json.contains(r#""errNo":403"#), "{json}");
        assert_eq!(seen.lock().unwrap().len(), 3);
    }

    #[test]
    fn http_answers_hand_the_body_over_as_is() {
        let c = Code { split_body: true, ..code("exports.handler = () => ({statusCode: 201, headers: {a: 'b'}, body: '\"quoted\"', extra: 1});") };
        let out = Instance::load(&c).unwrap().invoke(&c, &request("{}"));
        assert_eq!(out.result, Ok(Answer::WithBody { json: r#"{"statusCode":201,"headers":{"a":"b"}}"#.into(), body: r#""quoted""#.into() }));
        let c = Code { split_body: true, ..code("exports.handler = () => ({statusCode: 200, body: {not: 'a string'}});") };
        let out = Instance::load(&c).unwrap().invoke(&c, &request("{}"));
        assert_eq!(out.result, Ok(Answer::Json(r#"{"statusCode":200,"body":{"not":"a string"}}"#.into())));
    }

    #[test]
    fn warm_instances_keep_their_globals() {
        let c = code("let count = 0; exports.handler = () => ++count;");
        let mut i = Instance::load(&c).unwrap();
        assert_eq!(i.invoke(&c, &request("{}")).result, Ok(Answer::Json("1".into())));
        assert_eq!(i.invoke(&c, &request("{}")).result, Ok(Answer::Json("2".into())));
        assert_eq!(i.uses, 2);
    }

    #[test]
    fn failures() {
        let thrown = run("exports.handler = () => { throw new TypeError('bad input'); };", "{}");
        assert!(matches!(&thrown.result, Err(Failure::Exception(t)) if t.starts_with("TypeError: bad input")), "{:?}", thrown.result);
        let rejected = run("exports.handler = async () => { throw new Error('later'); };", "{}");
        assert!(matches!(&rejected.result, Err(Failure::Exception(t)) if t.contains("later")), "{:?}", rejected.result);
        let never = run("exports.handler = () => new Promise(() => {});", "{}");
        assert_eq!(never.result, Err(Failure::NeverSettled));
        let bad_event = run("exports.handler = (e) => e;", "not json");
        assert!(matches!(bad_event.result, Err(Failure::Exception(_))));
        assert!(matches!(Instance::load(&code("exports.other = 1;")), Err(Failure::Load(m)) if m.contains("`handler`")));
        assert!(matches!(Instance::load(&code("throw new Error('at load');")), Err(Failure::Load(m)) if m.contains("at load")));
        assert!(matches!(Instance::load(&code("require('fs');")), Err(Failure::Load(m)) if m.contains("require('fs')")));
    }

    #[test]
    fn limits_stop_runaway_code() {
        let started = Instant::now();
        let looping = run("exports.handler = () => { for (;;) {} };", "{}");
        assert_eq!(looping.result, Err(Failure::Timeout));
        // Stopped by its 500 ms limit, not left running (a generous bound: machines under load are slow).
        assert!(started.elapsed() < Duration::from_secs(10), "stopped after {:?}", started.elapsed());
        let async_loop = run("exports.handler = async () => { await null; for (;;) {} };", "{}");
        assert_eq!(async_loop.result, Err(Failure::Timeout));
        let bomb = run("exports.handler = () => { const a = []; for (;;) a.push('x'.repeat(1024) + a.length); };", "{}");
        assert_eq!(bomb.result, Err(Failure::MemoryLimit));
        let deep = run("function f(n) { return f(n + 1) + 1; } exports.handler = () => f(0);", "{}");
        assert!(matches!(&deep.result, Err(Failure::Exception(t)) if t.contains("stack")), "{:?}", deep.result);
        let at_load = Instance::load(&code("while (true) {}"));
        assert!(matches!(at_load, Err(Failure::Timeout)));
    }

    #[test]
    fn functions_cannot_see_each_other() {
        let a = code("globalThis.secret = 'a'; exports.handler = () => globalThis.secret;");
        let b = code("exports.handler = () => typeof globalThis.secret;");
        let mut ia = Instance::load(&a).unwrap();
        let mut ib = Instance::load(&b).unwrap();
        assert_eq!(ia.invoke(&a, &request("{}")).result, Ok(Answer::Json(r#""a""#.into())));
        assert_eq!(ib.invoke(&b, &request("{}")).result, Ok(Answer::Json(r#""undefined""#.into())));
    }

    #[test]
    fn syntax_check_names_the_line() {
        assert_eq!(check_syntax("ok", "exports.handler = () => 1;"), Ok(()));
        let e = check_syntax("broken", "exports.handler = () => {\n  let x = ;\n};").unwrap_err();
        assert_eq!(e.line, 2, "{e:?}");
        assert!(!e.message.is_empty());
        // Checking does not run the code.
        assert_eq!(check_syntax("loop", "while (true) {}"), Ok(()));
    }
}
