//! Worker threads that run functions, fed through one bounded queue.
//!
//! JavaScript never runs on the gateway's async workers: a caller queues a
//! job and awaits its answer. Each worker keeps warm instances by code key
//! (least recently used dropped beyond [`PoolConfig::instances_per_worker`])
//! and throws an instance away after any failure — a timeout, the memory
//! limit, an exception — or after [`PoolConfig::max_uses`] invocations, so
//! a broken heap is never reused.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::sandbox::Instance;
use crate::{Code, Failure, Outcome, Request};

/// Sizing of the pool.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Worker threads (each runs one invocation at a time).
    pub workers: usize,
    /// Invocations that may wait for a worker; beyond it callers get
    /// [`Failure::Overloaded`] at once.
    pub queue: usize,
    /// Warm instances a worker keeps.
    pub instances_per_worker: usize,
    /// Invocations after which an instance is recycled.
    pub max_uses: u32,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue: 4096,
            instances_per_worker: 64,
            max_uses: 10_000,
        }
    }
}

struct Job {
    code: Arc<Code>,
    request: Request,
    reply: oneshot::Sender<Outcome>,
}

/// The function runtime's workers.
pub struct Pool {
    queue: flume::Sender<Job>,
    _workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("workers", &self._workers.len()).field("queued", &self.queue.len()).finish()
    }
}

/// Stack of a worker thread: QuickJS's own limit plus room for the host.
const WORKER_STACK_BYTES: usize = crate::sandbox::MAX_STACK_BYTES + (4 << 20);

impl Pool {
    pub fn new(config: PoolConfig) -> std::io::Result<Self> {
        let (queue, jobs) = flume::bounded::<Job>(config.queue.max(1));
        let mut workers = Vec::new();
        for i in 0..config.workers.max(1) {
            let jobs = jobs.clone();
            let config = config.clone();
            workers.push(
                std::thread::Builder::new()
                    .name(format!("causeway-fn-{i}"))
                    .stack_size(WORKER_STACK_BYTES)
                    .spawn(move || Worker::new(config).run(jobs))?,
            );
        }
        Ok(Self { queue, _workers: workers })
    }

    /// Runs `code` with `request` on a worker and waits for the outcome.
    pub async fn invoke(&self, code: Arc<Code>, request: Request) -> Outcome {
        let (reply, answer) = oneshot::channel();
        match self.queue.try_send(Job { code, request, reply }) {
            Ok(()) => answer.await.unwrap_or_else(|_| Outcome::failed(Failure::Stopped)),
            Err(flume::TrySendError::Full(_)) => Outcome::failed(Failure::Overloaded),
            Err(flume::TrySendError::Disconnected(_)) => Outcome::failed(Failure::Stopped),
        }
    }
}

struct Warm {
    instance: Instance,
    last_used: u64,
}

struct Worker {
    config: PoolConfig,
    warm: HashMap<String, Warm>,
    clock: u64,
}

impl Worker {
    fn new(config: PoolConfig) -> Self {
        Self { config, warm: HashMap::new(), clock: 0 }
    }

    fn run(mut self, jobs: flume::Receiver<Job>) {
        // Ends when the pool is dropped.
        while let Ok(job) = jobs.recv() {
            // The caller stopped waiting (it timed out or went away): skip.
            if job.reply.is_closed() {
                continue;
            }
            let outcome = self.invoke(&job.code, &job.request);
            let _ = job.reply.send(outcome);
        }
    }

    fn invoke(&mut self, code: &Code, request: &Request) -> Outcome {
        self.clock += 1;
        let mut warm = match self.warm.remove(&code.key) {
            Some(w) => w,
            None => match Instance::load(code) {
                Ok(instance) => Warm { instance, last_used: 0 },
                Err(f) => return Outcome::failed(f),
            },
        };
        let outcome = warm.instance.invoke(code, request);
        // Anything that went wrong may have left the heap half-changed.
        if outcome.result.is_ok() && warm.instance.uses < self.config.max_uses {
            warm.last_used = self.clock;
            self.keep(code.key.clone(), warm);
        }
        outcome
    }

    fn keep(&mut self, key: String, warm: Warm) {
        if self.warm.len() >= self.config.instances_per_worker.max(1)
            && let Some(oldest) = self.warm.iter().min_by_key(|(_, w)| w.last_used).map(|(k, _)| k.clone())
        {
            self.warm.remove(&oldest);
        }
        self.warm.insert(key, warm);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn code(key: &str, source: &str, timeout_ms: u64) -> Arc<Code> {
        Arc::new(Code {
            key: key.into(),
            name: key.into(),
            version: "1".into(),
            source: source.into(),
            handler: "handler".into(),
            memory_mib: 32,
            timeout: Duration::from_millis(timeout_ms),
            environment: Vec::new(),
            split_body: false,
        })
    }

    fn request() -> Request {
        Request { request_id: "r".into(), event: "{}".into(), timeout: None, push: None }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_runaway_function_does_not_hold_up_the_others() {
        let pool = Arc::new(Pool::new(PoolConfig { workers: 2, ..PoolConfig::default() }).unwrap());
        let looping = code("loop", "exports.handler = () => { for (;;) {} };", 3000);
        let quick = code("quick", "let n = 0; exports.handler = () => ++n;", 1000);
        // Polled once, the loop is queued before anything else: one worker takes it.
        let mut stuck = Box::pin(pool.invoke(looping, request()));
        tokio::select! {
            biased;
            _ = &mut stuck => panic!("the loop ended at once"),
            _ = std::future::ready(()) => {}
        }
        // The other worker serves, warm, while the loop still runs.
        for i in 1..=50 {
            let out = pool.invoke(quick.clone(), request()).await;
            assert_eq!(out.result, Ok(crate::Answer::Json(i.to_string())));
        }
        let still_running = tokio::select! {
            biased;
            _ = &mut stuck => false,
            _ = std::future::ready(()) => true,
        };
        assert!(still_running, "the others were served only after the loop ended");
        assert_eq!(stuck.await.result, Err(Failure::Timeout));
    }

    #[tokio::test]
    async fn failed_instances_are_replaced_and_old_ones_recycled() {
        let pool = Pool::new(PoolConfig { workers: 1, max_uses: 3, ..PoolConfig::default() }).unwrap();
        let flaky = code("flaky", "let n = 0; exports.handler = (e) => { n++; if (n === 2) throw new Error('second'); return n; };", 1000);
        let results: Vec<_> = [(); 6].iter().map(|_| flaky.clone()).collect();
        let mut seen = Vec::new();
        for c in results {
            seen.push(pool.invoke(c, request()).await.result.map_err(|e| e.to_string()));
        }
        // 1, then the throw (instance dropped), then a fresh instance: 1, throw, fresh: 1, throw.
        assert_eq!(seen[0], Ok(crate::Answer::Json("1".into())));
        assert!(seen[1].is_err());
        assert_eq!(seen[2], Ok(crate::Answer::Json("1".into())));
        assert!(seen[3].is_err());
        // Recycling after max_uses: a counter never passes 3.
        let counter = code("counter", "let n = 0; exports.handler = () => ++n;", 1000);
        let mut values = Vec::new();
        for _ in 0..7 {
            match pool.invoke(counter.clone(), request()).await.result {
                Ok(crate::Answer::Json(v)) => values.push(v),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(values, ["1", "2", "3", "1", "2", "3", "1"]);
    }

    #[tokio::test]
    async fn overload_is_reported_not_queued_forever() {
        let pool = Pool::new(PoolConfig { workers: 1, queue: 1, ..PoolConfig::default() }).unwrap();
        let slow = code("slow", "exports.handler = () => { const t = Date.now(); while (Date.now() - t < 200) {} return 1; };", 1000);
        let (a, b, c) = tokio::join!(pool.invoke(slow.clone(), request()), pool.invoke(slow.clone(), request()), pool.invoke(slow.clone(), request()));
        let failures: Vec<_> = [a, b, c].into_iter().filter_map(|o| o.result.err()).collect();
        assert!(failures.contains(&Failure::Overloaded), "{failures:?}");
    }
}
