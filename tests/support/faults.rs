//! A TCP link between the functions and the emulator that a test can break: the emulator
//! "stopped or unreachable mid-request" for one stack, while every other test keeps using the
//! same emulator. The link knows just enough HTTP to recognise a request by a marker in its
//! bytes (DynamoDB names the operation in `X-Amz-Target`, e.g. `DynamoDB_20120810.Query`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
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
    /// The next `left` requests containing the marker never reach the emulator: the link
    /// answers them itself with `answer`, a DynamoDB error that means nothing was written
    /// (see [`FaultyLink::throttle`] and [`FaultyLink::mismatch_token`]).
    Answer {
        marker: Vec<u8>,
        left: usize,
        answer: &'static str,
    },
}

/// DynamoDB's answer to a transaction it cancelled because a partition was throttled: one
/// reason per item (`None` for items that were fine), and nothing written. The link closes the
/// connection after it, so the rest of the request's body goes nowhere.
const THROTTLED_TRANSACTION: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, ThrottlingError]","CancellationReasons":[{"Code":"None"},{"Code":"ThrottlingError","Message":"Throughput exceeds the current capacity for one or more global secondary indexes. DynamoDB is automatically scaling your index so please try again shortly."}]}"#;

/// DynamoDB's answer to a TransactWriteItems whose ClientRequestToken an applied transaction
/// with other parameters already used (within ten minutes): this one is not applied.
const TOKEN_MISMATCH: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException","Message":"The request uses the same client token as a previous, but non-identical request."}"#;

/// DynamoDB's answer to a read over the table's or an index's throughput: nothing read.
const THROTTLED_READ: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}"#;

/// `body` as DynamoDB sends a client error; the link closes the connection after it.
fn error_answer(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
         x-amzn-requestid: ANSWERED0BY0LINK00000000000000000000000000000000000\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
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

    /// Answers the next `times` requests containing `marker` (a TransactWriteItems) itself,
    /// with the transaction cancelled for throttling; see [`Fault::Answer`].
    pub fn throttle(&self, marker: &str, times: usize) {
        self.answer(marker, times, THROTTLED_TRANSACTION);
    }

    /// Answers the next `times` requests containing `marker` (a read) itself, as DynamoDB
    /// answers a read over the provisioned throughput.
    pub fn throttle_reads(&self, marker: &str, times: usize) {
        self.answer(marker, times, THROTTLED_READ);
    }

    /// Answers the next `times` requests containing `marker` (a TransactWriteItems) itself,
    /// as DynamoDB answers a token that another applied transaction already used.
    pub fn mismatch_token(&self, marker: &str, times: usize) {
        self.answer(marker, times, TOKEN_MISMATCH);
    }

    fn answer(&self, marker: &str, times: usize, answer: &'static str) {
        self.set(Fault::Answer {
            marker: marker.as_bytes().to_vec(),
            left: times,
            answer,
        });
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
    let (client_read, mut client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let (answer_here, mut answered_here) = tokio::sync::oneshot::channel();
    let mut answer_here = Some(answer_here);
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
            Verdict::Answer(answer) => {
                if let Some(sender) = answer_here.take() {
                    let _ = sender.send(answer);
                }
                Flow::Stop
            }
        }
    });
    // A muted connection swallows its answers until the caller gives up on it.
    let answers = pump(server_read, &mut client_write, &state, |_| {
        if muted.load(Ordering::SeqCst) {
            Flow::Swallow
        } else {
            Flow::Forward
        }
    });
    // Whichever direction ends first ends the connection (both halves are dropped). A request
    // the link answers itself ends the requests' direction; its answer then goes out on the
    // client's side before the connection closes.
    tokio::select! {
        () = requests => {}
        () = answers => return,
    }
    if let Ok(answer) = answered_here.try_recv() {
        let _ = client_write.write_all(&answer).await;
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
    mut to: impl tokio::io::AsyncWrite + Unpin,
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
    /// The link answers the request itself with these bytes, and closes the connection.
    Answer(Vec<u8>),
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
        Fault::Answer {
            marker,
            left,
            answer,
        } => {
            if !contains(chunk, marker) {
                return false;
            }
            verdict = Verdict::Answer(error_answer(answer));
            *left -= 1;
            if *left == 0 {
                *fault = Fault::None;
            }
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
