//! One call: a case sent over the real socket (unary or streaming, a
//! WatchEvents stream read for a while), its outcome, and what, if
//! anything, is wrong with it.

use gongkai_testkit::RawCodec as Raw;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use super::cases::{Case, Kind};
use super::{CALL_TIMEOUT, WATCH_EVENTS, WATCH_FOR};

#[derive(Debug)]
pub(super) enum Outcome {
    /// The server's answer: OK (`None`) or a status, and whether it names
    /// bad fields (the handler validated the request).
    Answered(Option<Code>, bool, String),
    /// No gRPC answer: the stream or connection broke, or the client gave up.
    Transport(Code, String),
    /// No answer within [`CALL_TIMEOUT`].
    Hang,
}

impl Outcome {
    pub(super) fn label(&self) -> String {
        match self {
            Outcome::Answered(None, _, _) => "OK".to_owned(),
            Outcome::Answered(Some(code), true, _) => format!("{code:?} (fields)"),
            Outcome::Answered(Some(code), false, _) => format!("{code:?}"),
            Outcome::Transport(code, _) => format!("transport error ({code:?})"),
            Outcome::Hang => "no answer".to_owned(),
        }
    }
}

fn classify(status: tonic::Status) -> Outcome {
    // tonic keeps the cause of what it made itself (a reset stream, a
    // broken connection); a status the server sent has none.
    match std::error::Error::source(&status) {
        Some(source) => Outcome::Transport(status.code(), format!("{}: {source}", status.message())),
        None => {
            let fields = status.get_details_bad_request().is_some();
            Outcome::Answered(Some(status.code()), fields, status.message().chars().take(300).collect())
        }
    }
}

/// Reads a WatchEvents stream for [`WATCH_FOR`], then lets it go.
async fn drain(mut stream: tonic::Streaming<Vec<u8>>) -> Result<(), tonic::Status> {
    let deadline = tokio::time::Instant::now() + WATCH_FOR;
    loop {
        match tokio::time::timeout_at(deadline, stream.message()).await {
            Err(_) | Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(_))) => {}
            Ok(Err(status)) => return Err(status),
        }
    }
}

pub(super) async fn send(channel: Channel, case: &Case) -> Outcome {
    let call = async {
        let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(usize::MAX);
        if let Err(error) = grpc.ready().await {
            return Outcome::Transport(Code::Unavailable, format!("channel not ready: {error}"));
        }
        let path = PathAndQuery::from_static(case.path);
        let result = match (case.kind, case.path == WATCH_EVENTS) {
            (Kind::Stream, true) => {
                let request = case.request(tokio_stream::iter(case.messages.clone()));
                match grpc.streaming(request, path, Raw).await {
                    Ok(response) => drain(response.into_inner()).await,
                    Err(status) => Err(status),
                }
            }
            (Kind::Stream, false) => {
                let request = case.request(tokio_stream::iter(case.messages.clone()));
                grpc.client_streaming(request, path, Raw).await.map(drop)
            }
            (_, true) => match grpc.server_streaming(case.request(case.messages[0].clone()), path, Raw).await {
                Ok(response) => drain(response.into_inner()).await,
                Err(status) => Err(status),
            },
            (_, false) => grpc.unary(case.request(case.messages[0].clone()), path, Raw).await.map(drop),
        };
        match result {
            Ok(()) => Outcome::Answered(None, false, String::new()),
            Err(status) => classify(status),
        }
    };
    tokio::time::timeout(CALL_TIMEOUT, call).await.unwrap_or(Outcome::Hang)
}

/// What is wrong with `outcome`, if anything.
pub(super) fn fault(case: &Case, outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Answered(Some(code @ (Code::Internal | Code::Unknown)), _, message) => {
            Some(format!("{code:?}: {message}"))
        }
        Outcome::Answered(None, _, _) if case.kind == Kind::Oversize => Some("an oversize request was accepted".into()),
        // tonic's channel itself enforces a `grpc-timeout` the request carries.
        Outcome::Transport(Code::Cancelled | Code::DeadlineExceeded, _) if case.has("grpc-timeout") => None,
        Outcome::Transport(code, error) if case.kind != Kind::Oversize => {
            Some(format!("transport error ({code:?}): {error}"))
        }
        Outcome::Hang => Some(format!("no answer within {CALL_TIMEOUT:?}")),
        _ => None,
    }
}
