//! A TCP link between the functions and the emulator that a test can break: the emulator
//! "stopped or unreachable mid-request" for one stack, while every other test keeps using the
//! same emulator. The link knows just enough HTTP to recognise a request by a marker in its
//! bytes (DynamoDB names the operation in `X-Amz-Target`, e.g. `DynamoDB_20120810.Query`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the link does to the traffic passing through it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fault {
    /// Everything passes.
    None,
    /// Unreachable: open connections are dropped, new ones closed at once.
    Cut,
    /// Requests containing the marker are dropped with their connection, before they reach
    /// the emulator; everything else passes.
    Refuse(Vec<u8>),
    /// The next request containing the marker reaches the emulator, but its answer never
    /// comes back (the caller times out); then everything passes again.
    LoseNextAnswer(Vec<u8>),
    /// Like `LoseNextAnswer`, and the link is cut at the next request with the marker (the
    /// SDK's retry): the write is applied, the caller never hears of it and gives up.
    LoseAnswerThenCut(Vec<u8>),
    /// The first `left - 1` requests containing the marker pass; the next one is dropped and
    /// the link is cut from then on.
    CutAt { marker: Vec<u8>, left: usize },
}

struct State {
    fault: watch::Sender<Fault>,
    /// Latency put on requests containing a marker (the first marker found counts), as if the
    /// service were across a network: see [`FaultyLink::delay`].
    delays: std::sync::RwLock<Vec<(Vec<u8>, std::time::Duration)>>,
    /// Requests the link dropped or whose answer it swallowed: proof a fault happened.
    faults_injected: AtomicUsize,
}

/// A loopback port that forwards to the emulator at `AWS_ENDPOINT_URL`.
pub struct FaultyLink {
    address: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

impl FaultyLink {
    pub async fn start() -> Self {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL is set");
        let upstream = endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().expect("a bound address");
        let state = Arc::new(State {
            fault: watch::Sender::new(Fault::None),
            delays: std::sync::RwLock::new(Vec::new()),
            faults_injected: AtomicUsize::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, upstream, state.clone()));
        Self {
            address,
            state,
            accept,
        }
    }

    /// The endpoint URL to give the functions instead of the emulator's.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn cut(&self) {
        self.set(Fault::Cut);
    }

    pub fn restore(&self) {
        self.set(Fault::None);
    }

    pub fn refuse(&self, marker: &str) {
        self.set(Fault::Refuse(marker.as_bytes().to_vec()));
    }

    pub fn lose_next_answer_to(&self, marker: &str) {
        self.set(Fault::LoseNextAnswer(marker.as_bytes().to_vec()));
    }

    /// Loses the answer to the next request with the marker and cuts the link at the one after:
    /// a write applied whose caller ends with an error.
    pub fn lose_answer_then_cut(&self, marker: &str) {
        self.set(Fault::LoseAnswerThenCut(marker.as_bytes().to_vec()));
    }

    /// Lets `passing` requests with the marker through, then cuts the link at the next one.
    pub fn cut_at(&self, marker: &str, passing: usize) {
        self.set(Fault::CutAt {
            marker: marker.as_bytes().to_vec(),
            left: passing + 1,
        });
    }

    /// Holds each request containing `marker` for `latency` before passing it on (requests
    /// on different connections wait side by side, as on a network). Markers are tried in the
    /// order they were given: give the specific ones first.
    pub fn delay(&self, marker: &str, latency: std::time::Duration) {
        let mut delays = self.state.delays.write().expect("not poisoned");
        delays.push((marker.as_bytes().to_vec(), latency));
    }

    pub fn faults_injected(&self) -> usize {
        self.state.faults_injected.load(Ordering::SeqCst)
    }

    fn set(&self, fault: Fault) {
        self.state.fault.send_replace(fault);
    }
}

impl Drop for FaultyLink {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, upstream: String, state: Arc<State>) {
    while let Ok((client, _)) = listener.accept().await {
        if *state.fault.borrow() == Fault::Cut {
            state.faults_injected.fetch_add(1, Ordering::SeqCst);
            drop(client);
            continue;
        }
        tokio::spawn(forward(client, upstream.clone(), state.clone()));
    }
}

/// One connection, both ways, until either side closes or the link is cut.
async fn forward(client: TcpStream, upstream: String, state: Arc<State>) {
    let Ok(server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let muted = Arc::new(AtomicBool::new(false));
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let requests = pump(client_read, server_write, &state, |chunk| {
        match decide(&state, chunk) {
            Verdict::Pass => match latency(&state, chunk) {
                Some(latency) => Flow::Delay(latency),
                None => Flow::Forward,
            },
            Verdict::Drop => Flow::Stop,
            Verdict::Mute => {
                muted.store(true, Ordering::SeqCst);
                Flow::Forward
            }
        }
    });
    // A muted connection swallows its answers until the caller gives up on it.
    let answers = pump(server_read, client_write, &state, |_| {
        if muted.load(Ordering::SeqCst) {
            Flow::Swallow
        } else {
            Flow::Forward
        }
    });
    // Whichever direction ends first ends the connection (both halves are dropped).
    tokio::select! {
        () = requests => {}
        () = answers => {}
    }
}

/// What happens to a chunk on its way through.
enum Flow {
    Forward,
    /// Forwarded after a while.
    Delay(std::time::Duration),
    Swallow,
    /// The connection is dropped.
    Stop,
}

/// Copies one direction of a connection chunk by chunk, as `inspect` says, until it closes
/// or the link is cut.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    state: &State,
    mut inspect: impl FnMut(&[u8]) -> Flow,
) {
    let mut faults = state.fault.subscribe();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            _ = cut(&mut faults) => return,
        };
        let Ok(n @ 1..) = read else { return };
        let chunk = &buffer[..n];
        let flow = inspect(chunk);
        if let Flow::Delay(latency) = flow {
            tokio::time::sleep(latency).await;
        }
        match flow {
            Flow::Forward | Flow::Delay(_) => {
                if to.write_all(chunk).await.is_err() {
                    return;
                }
            }
            Flow::Swallow => {}
            Flow::Stop => return,
        }
    }
}

/// Resolves once the link is cut.
async fn cut(faults: &mut watch::Receiver<Fault>) {
    let _ = faults.wait_for(|fault| *fault == Fault::Cut).await;
}

enum Verdict {
    Pass,
    Drop,
    Mute,
}

/// What happens to a chunk of a request on its way to the emulator.
fn decide(state: &State, chunk: &[u8]) -> Verdict {
    let mut verdict = Verdict::Pass;
    state.fault.send_if_modified(|fault| match fault {
        Fault::None => false,
        Fault::Cut => {
            verdict = Verdict::Drop;
            false
        }
        Fault::Refuse(marker) => {
            if contains(chunk, marker) {
                verdict = Verdict::Drop;
            }
            false
        }
        Fault::LoseNextAnswer(marker) => {
            if !contains(chunk, marker) {
                return false;
            }
            verdict = Verdict::Mute;
            *fault = Fault::None;
            true
        }
        Fault::LoseAnswerThenCut(marker) => {
            if !contains(chunk, marker) {
                return false;
            }
            verdict = Verdict::Mute;
            *fault = Fault::CutAt {
                marker: std::mem::take(marker),
                left: 1,
            };
            true
        }
        Fault::CutAt { marker, left } => {
            if !contains(chunk, marker) {
                return false;
            }
            *left -= 1;
            if *left > 0 {
                return false;
            }
            verdict = Verdict::Drop;
            *fault = Fault::Cut;
            true
        }
    });
    if !matches!(verdict, Verdict::Pass) {
        state.faults_injected.fetch_add(1, Ordering::SeqCst);
    }
    verdict
}

/// The latency a chunk of a request waits, if it starts a request with a delayed marker.
fn latency(state: &State, chunk: &[u8]) -> Option<std::time::Duration> {
    let delays = state.delays.read().expect("not poisoned");
    delays
        .iter()
        .find(|(marker, _)| contains(chunk, marker))
        .map(|(_, latency)| *latency)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
