//! Restarts and upgrades without a refused connection: a process serving an
//! installation offers its listening sockets on a Unix socket in the data
//! directory; a new `causeway serve` on the same data directory takes them
//! (passed as file descriptors, `SCM_RIGHTS`), starts on them, and says when
//! it is ready. Only then does the old process stop accepting and drain, so
//! the sockets never close and no connection queued on them is lost. If the
//! new process fails before it is ready, the old one never stops.
//!
//! The conversation, each message a length-prefixed JSON frame:
//! new → `{"protocol":1,"pid":…}`; old → `{"protocol":1,"pid":…,"sockets":[{"kind":…,"addr":…},…]}`
//! with the sockets attached in that order; new → `{"ready":true}`; old → `{"draining":true}`.

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// The Unix socket's name in the data directory.
pub const SOCKET_FILE: &str = "handover.sock";
const PROTOCOL: u32 = 1;
/// The most sockets one hand-over carries (listeners of every worker, and the admin one).
const MAX_SOCKETS: usize = 512;
/// The largest frame either side sends.
const MAX_FRAME: usize = 64 << 10;
/// How long the old process waits for each step of the conversation but the last.
const STEP: Duration = Duration::from_secs(10);

/// Which listener a handed-over socket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Gateway,
    GatewayTls,
    Admin,
}

#[derive(Serialize, Deserialize)]
struct Request {
    protocol: u32,
    pid: u32,
}

#[derive(Serialize, Deserialize)]
struct Offer {
    protocol: u32,
    pid: u32,
    sockets: Vec<Offered>,
}

#[derive(Serialize, Deserialize)]
struct Offered {
    kind: Kind,
    addr: SocketAddr,
}

#[derive(Serialize, Deserialize)]
struct Ready {
    ready: bool,
}

#[derive(Serialize, Deserialize)]
struct Draining {
    draining: bool,
}

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_FILE)
}

/// The process being replaced, with the sockets it handed over.
pub struct Predecessor {
    pub pid: u32,
    stream: UnixStream,
    sockets: Vec<(Kind, SocketAddr, OwnedFd)>,
}

/// Asks a process serving this data directory for its listening sockets;
/// `None` when none runs (a socket file left by one that died is removed).
pub fn take_over(data_dir: &Path) -> Result<Option<Predecessor>, String> {
    let path = socket_path(data_dir);
    let mut stream = match UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            let _ = std::fs::remove_file(&path);
            return Ok(None);
        }
        Err(e) => {
            tracing::warn!(error = %e, path = %path.display(), "cannot reach a running process to take over from; starting on new sockets");
            return Ok(None);
        }
    };
    let failed = |e: String| format!("taking over from the process serving {}: {e}", data_dir.display());
    stream.set_read_timeout(Some(STEP)).map_err(|e| failed(e.to_string()))?;
    stream.set_write_timeout(Some(STEP)).map_err(|e| failed(e.to_string()))?;
    write_frame(&mut stream, &Request { protocol: PROTOCOL, pid: std::process::id() }, &[]).map_err(failed)?;
    let (offer, fds): (Offer, Vec<OwnedFd>) = read_frame_with_fds(&mut stream).map_err(failed)?;
    if offer.protocol != PROTOCOL {
        return Err(failed(format!("it speaks hand-over protocol {}, this binary {PROTOCOL}: stop it first", offer.protocol)));
    }
    if offer.sockets.len() != fds.len() {
        return Err(failed(format!("{} sockets described, {} received", offer.sockets.len(), fds.len())));
    }
    let sockets = offer.sockets.into_iter().zip(fds).map(|(o, fd)| (o.kind, o.addr, fd)).collect();
    Ok(Some(Predecessor { pid: offer.pid, stream, sockets }))
}

impl Predecessor {
    /// The handed-over sockets of `kind` a listener configured on `wanted`
    /// takes: the same address, or the same IP when `wanted` asks for any port (0).
    pub fn take(&mut self, kind: Kind, wanted: SocketAddr) -> Vec<std::net::TcpListener> {
        let (taken, rest) = std::mem::take(&mut self.sockets)
            .into_iter()
            .partition(|(k, addr, _)| *k == kind && (*addr == wanted || (wanted.port() == 0 && addr.ip() == wanted.ip())));
        self.sockets = rest;
        taken.into_iter().map(|(_, _, fd)| std::net::TcpListener::from(fd)).collect()
    }

    /// Tells the old process this one serves; it answers that it drains.
    /// Sockets not taken (a listener moved to another address) are closed
    /// here: the old process closes its own as it stops.
    pub fn ready(mut self) -> Result<(), String> {
        self.sockets.clear();
        let failed = |e: String| format!("telling process {} that this one is ready: {e}", self.pid);
        write_frame(&mut self.stream, &Ready { ready: true }, &[]).map_err(failed)?;
        let (answer, _): (Draining, _) = read_frame_with_fds(&mut self.stream).map_err(failed)?;
        if !answer.draining {
            return Err(failed("it did not stop".into()));
        }
        Ok(())
    }
}

/// Offers `sockets` to a process that takes this one's place, until `stop`
/// changes or one has taken them and said it is ready: then `replaced` is
/// set and this process stops. The socket file replaces any left behind.
pub async fn offer(data_dir: PathBuf, sockets: Vec<(Kind, SocketAddr, OwnedFd)>, replaced: watch::Sender<bool>, mut stop: watch::Receiver<bool>) {
    let path = socket_path(&data_dir);
    let _ = std::fs::remove_file(&path);
    let listener = match tokio::net::UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, path = %path.display(), "cannot offer this process's sockets for hand-over: a restart will refuse connections while it starts");
            return;
        }
    };
    // Only this user may take over (the data directory holds the installation's secrets anyway).
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    let sockets = std::sync::Arc::new(sockets);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "hand-over socket: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let same_user = stream.peer_cred().is_ok_and(|c| c.uid() == rustix::process::getuid().as_raw());
        if !same_user {
            tracing::warn!("hand-over refused to a process of another user");
            continue;
        }
        let Ok(stream) = stream.into_std() else { continue };
        let offered = sockets.clone();
        // One conversation at a time; it blocks on the socket, so off the runtime's threads.
        let outcome = tokio::task::spawn_blocking(move || hand_over(stream, &offered)).await;
        match outcome {
            Ok(Ok(pid)) => {
                tracing::info!(pid, "a new process took over the listening sockets and is ready: draining");
                replaced.send_replace(true);
                break;
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "a hand-over did not complete; serving on"),
            Err(e) => tracing::warn!(error = %e, "a hand-over failed; serving on"),
        }
    }
    // A successor binds its own socket file at the path; without one, none is left behind.
    if !*replaced.borrow() {
        let _ = std::fs::remove_file(&path);
    }
}

/// The old process's side: the offer, then the successor's word that it is ready.
fn hand_over(mut stream: UnixStream, sockets: &[(Kind, SocketAddr, OwnedFd)]) -> Result<u32, String> {
    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(STEP)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(STEP)).map_err(|e| e.to_string())?;
    let (request, _): (Request, _) = read_frame_with_fds(&mut stream)?;
    if request.protocol != PROTOCOL {
        return Err(format!("process {} speaks hand-over protocol {}, this one {PROTOCOL}", request.pid, request.protocol));
    }
    let offer = Offer { protocol: PROTOCOL, pid: std::process::id(), sockets: sockets.iter().map(|(kind, addr, _)| Offered { kind: *kind, addr: *addr }).collect() };
    let fds: Vec<BorrowedFd<'_>> = sockets.iter().map(|(_, _, fd)| fd.as_fd()).collect();
    write_frame(&mut stream, &offer, &fds)?;
    tracing::info!(pid = request.pid, sockets = fds.len(), "handed the listening sockets to a new process; serving until it is ready");
    // The successor may take a while to load everything published: no limit but its connection.
    stream.set_read_timeout(None).map_err(|e| e.to_string())?;
    let (ready, _): (Ready, _) = read_frame_with_fds(&mut stream)?;
    if !ready.ready {
        return Err(format!("process {} gave up", request.pid));
    }
    write_frame(&mut stream, &Draining { draining: true }, &[])?;
    Ok(request.pid)
}

/// Writes `message` as a length-prefixed JSON frame, with `fds` attached.
fn write_frame<T: Serialize>(stream: &mut UnixStream, message: &T, fds: &[BorrowedFd<'_>]) -> Result<(), String> {
    let json = serde_json::to_vec(message).map_err(|e| e.to_string())?;
    let len = u32::try_from(json.len()).map_err(|_| "frame too large".to_string())?;
    let mut frame = len.to_be_bytes().to_vec();
    frame.extend_from_slice(&json);
    if fds.is_empty() {
        return stream.write_all(&frame).map_err(|e| e.to_string());
    }
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err("too many sockets to pass".into());
    }
    // The sockets travel with the first bytes; the rest (if any) follows plainly.
    let sent = rustix::net::sendmsg(&*stream, &[IoSlice::new(&frame)], &mut control, SendFlags::empty()).map_err(|e| e.to_string())?;
    stream.write_all(&frame[sent..]).map_err(|e| e.to_string())
}

/// Reads one frame, and the sockets attached to it.
fn read_frame_with_fds<T: for<'de> Deserialize<'de>>(stream: &mut UnixStream) -> Result<(T, Vec<OwnedFd>), String> {
    let mut buf = vec![0u8; MAX_FRAME + 4];
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_SOCKETS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let got = rustix::net::recvmsg(&*stream, &mut [IoSliceMut::new(&mut buf)], &mut control, RecvFlags::CMSG_CLOEXEC).map_err(|e| e.to_string())?;
    let mut fds = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    let mut have = got.bytes;
    if have == 0 {
        return Err("the other process closed the connection".into());
    }
    while have < 4 {
        let n = stream.read(&mut buf[have..]).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the other process closed the connection".into());
        }
        have += n;
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len > MAX_FRAME {
        return Err(format!("a frame of {len} bytes"));
    }
    if have < 4 + len {
        stream.read_exact(&mut buf[have..4 + len]).map_err(|e| e.to_string())?;
    }
    let message = serde_json::from_slice(&buf[4..4 + len]).map_err(|e| format!("an unreadable message: {e}"))?;
    Ok((message, fds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_pass_between_processes_sides_with_their_description() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let offered = vec![(Kind::Gateway, addr, listener.as_fd().try_clone_to_owned().unwrap())];
        let (a, b) = UnixStream::pair().unwrap();
        let old = std::thread::spawn(move || hand_over(a, &offered));
        let mut b = b;
        write_frame(&mut b, &Request { protocol: PROTOCOL, pid: 7 }, &[]).unwrap();
        let (offer, fds): (Offer, Vec<OwnedFd>) = read_frame_with_fds(&mut b).unwrap();
        assert_eq!((offer.sockets.len(), fds.len()), (1, 1));
        let mut taker = Predecessor { pid: offer.pid, stream: b, sockets: vec![(offer.sockets[0].kind, offer.sockets[0].addr, fds.into_iter().next().unwrap())] };
        assert!(taker.take(Kind::Admin, addr).is_empty(), "kinds are kept apart");
        let mut taken = taker.take(Kind::Gateway, SocketAddr::from(([127, 0, 0, 1], 0)));
        let taken = taken.pop().expect("taken by IP with any port");
        // The same socket: a connection made to the old one is accepted on the new descriptor.
        assert_eq!(taken.local_addr().unwrap(), addr);
        let _client = std::net::TcpStream::connect(addr).unwrap();
        drop(listener);
        taken.accept().unwrap();
        taker.ready().unwrap();
        assert_eq!(old.join().unwrap().unwrap(), 7);
    }
}
