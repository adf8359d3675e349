//! The function runtime as the management API's test invocations use it.

use std::sync::Arc;
use std::time::Duration;

use causeway_admin::service::{TestInvocation, TestInvoker, TestLog, TestOutcome};
use causeway_functions::{Answer, Code, Pool, Request};

/// `POST /functions/{id}/invocations`, run on `pool` like any invocation.
pub fn test_invoker(pool: Arc<Pool>) -> TestInvoker {
    Arc::new(move |call: TestInvocation| {
        let pool = pool.clone();
        Box::pin(async move {
            let spec = call.spec;
            let code = Code {
                key: call.key,
                name: call.name,
                version: call.version,
                source: spec.code.unwrap_or_default(),
                handler: spec.handler,
                memory_mib: spec.memory_size,
                timeout: Duration::from_millis(u64::from(spec.timeout)),
                environment: spec.environment.into_iter().collect(),
                split_body: false,
            };
            let outcome = pool.invoke(Arc::new(code), Request { request_id: call.request_id.clone(), event: call.event, timeout: None, push: None }).await;
            let logs = outcome.logs.into_iter().map(|l| TestLog { level: l.level.to_string(), message: l.message }).collect();
            let (status, result, error) = match outcome.result {
                Ok(Answer::Nothing) => ("success", None, None),
                Ok(Answer::Json(json)) => ("success", serde_json::from_str(&json).ok(), None),
                // Not produced without split_body; shown whole all the same.
                Ok(Answer::WithBody { json, body }) => {
                    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
                    if let Some(obj) = v.as_object_mut() {
                        obj.insert("body".into(), serde_json::Value::String(body));
                    }
                    ("success", Some(v), None)
                }
                Err(f) => ("failed", None, Some(f.to_string())),
            };
            TestOutcome { status, result, error, logs, duration_ms: outcome.duration.as_secs_f64() * 1000.0, request_id: call.request_id }
        })
    })
}
