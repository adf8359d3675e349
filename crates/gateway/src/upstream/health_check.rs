//! Active health checks of load-balance channel members: every member of a
//! channel whose `vpc_health_config` is on is checked every `time_interval`
//! seconds — a TCP connection, or an HTTP(S) request whose status must be one of
//! `http_code` — within `time_out` seconds. `threshold_abnormal` failures in
//! a row take a member out of rotation, `threshold_normal` successes bring it
//! back. Checks run on their own tasks, never on the request path.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use causeway_model::channel::{HealthConfig, HealthProtocol};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::upstream::balance::{Channels, MemberState};

/// How often the checker looks for members due a check.
const TICK: Duration = Duration::from_millis(250);
/// The most of an answer read to find its status line.
const STATUS_LINE_MAX: usize = 1024;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

/// Checks the members of the served channels (`channels` gives the ones
/// served now) until `stop`.
pub async fn run(channels: impl Fn() -> Arc<Channels>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let channels = channels();
        let now = now_ms();
        for pool in channels.iter() {
            let Some(config) = pool.health.as_ref().filter(|h| h.status == 1) else { continue };
            for member in pool.members() {
                let due = member.checked_at_ms.load(Ordering::Relaxed) + u64::from(config.time_interval) * 1000 <= now;
                if due && !member.checking.swap(true, Ordering::AcqRel) {
                    member.checked_at_ms.store(now, Ordering::Relaxed);
                    let (member, config) = (member.clone(), config.clone());
                    tokio::spawn(async move {
                        let result = check(&member, &config).await;
                        match result {
                            Ok(()) => member.succeeded(Some(config.threshold_normal)),
                            Err(reason) => {
                                tracing::debug!(member = %member.authority, %reason, "health check failed");
                                member.failed(config.threshold_abnormal, false);
                            }
                        }
                        member.checking.store(false, Ordering::Release);
                    });
                }
            }
        }
    }
}

/// One check of one member.
async fn check(member: &Arc<MemberState>, config: &HealthConfig) -> Result<(), String> {
    let port = config.port.unwrap_or(member.port);
    let timeout = Duration::from_secs(u64::from(config.time_out));
    let attempt = async {
        let stream = TcpStream::connect((&*member.host, port)).await.map_err(|e| format!("cannot connect: {e}"))?;
        match config.protocol {
            HealthProtocol::Tcp => Ok(()),
            HealthProtocol::Http => ask_status(stream, member, port, config).await,
            // The member's certificate is not verified: a check asks whether it answers.
            HealthProtocol::Https => {
                let tls = causeway_tls::client::accept_any_config()?;
                let name = causeway_tls::client::server_name(&member.host)?;
                let stream = tokio_rustls::TlsConnector::from(tls).connect(name, stream).await.map_err(|e| format!("TLS failed: {e}"))?;
                ask_status(stream, member, port, config).await
            }
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} s", config.time_out)),
    }
}

/// Sends the check's request; its answer's status must be one of `http_code`.
async fn ask_status<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, member: &MemberState, port: u16, config: &HealthConfig) -> Result<(), String> {
    let host = if member.host.contains(':') { format!("[{}]", member.host) } else { member.host.to_string() };
    let path = config.path.as_deref().unwrap_or("/");
    let request = format!("{} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: causeway-health-check\r\nConnection: close\r\n\r\n", config.method);
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("cannot send: {e}"))?;
    let status = read_status(&mut stream).await?;
    if config.accepts(status) { Ok(()) } else { Err(format!("answered {status}")) }
}

/// Reads the status code of an HTTP/1 answer.
async fn read_status<S: AsyncRead + Unpin>(stream: &mut S) -> Result<u16, String> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    loop {
        if let Some(end) = buf.iter().position(|b| *b == b'\n') {
            let line = String::from_utf8_lossy(&buf[..end]);
            let mut parts = line.split_whitespace();
            return match (parts.next(), parts.next().and_then(|c| c.parse::<u16>().ok())) {
                (Some(v), Some(code)) if v.starts_with("HTTP/1.") => Ok(code),
                _ => Err("not an HTTP answer".into()),
            };
        }
        if buf.len() >= STATUS_LINE_MAX {
            return Err("not an HTTP answer".into());
        }
        let n = stream.read(&mut chunk).await.map_err(|e| format!("cannot read: {e}"))?;
        if n == 0 {
            return Err("closed without an answer".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
