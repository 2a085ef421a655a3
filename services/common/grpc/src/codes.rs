//! The contract's status codes for requests tonic refuses before any
//! handler runs.
//!
//! tonic decodes a request before it calls the handler, and reports what it
//! cannot decode in codes the contract does not use: bytes that are not a
//! protobuf message of the method's type, a string field that is not UTF-8,
//! a truncated or empty body, a bad gRPC frame header are INTERNAL (the
//! prost codec and the framer in `tonic::codec::decode`), and a message
//! over `max_decoding_message_size` is OUT_OF_RANGE. The contract says
//! INVALID_ARGUMENT for the former (the client's bytes are wrong) and
//! RESOURCE_EXHAUSTED for the latter.
//!
//! Why a response layer that knows whether a handler ran, and not a codec
//! or the message text:
//!
//! * A codec wrapper would see protobuf errors only; the size limit and
//!   the framing are checked by tonic's `Streaming` before any codec runs,
//!   and the generated servers name their codec at build time.
//! * tonic's message texts are not a contract; matching them would break
//!   silently on an upgrade.
//! * A handler's own INTERNAL (a store bug, corrupt data) must stay
//!   INTERNAL. So [`ContractCodes`] puts a [`HandlerReached`] mark in the
//!   request's extensions, which tonic hands to the handler with the
//!   decoded message, and [`crate::auth::principal`] (the first step of
//!   every gongkai handler) sets it. A call that ends without the mark
//!   never reached a handler: it was refused by the router (UNIMPLEMENTED),
//!   the authenticator (UNAUTHENTICATED), or tonic's request decoding — the
//!   only one of the three that answers INTERNAL or OUT_OF_RANGE. Only such
//!   responses are rewritten, by [`contract_code`]. Health and reflection
//!   do not set the mark and raise neither code themselves.
//!
//! Those refusals are trailers-only responses, so the code is in the
//! response headers when the handler future resolves; the message text
//! (which describes the client's bytes, nothing internal) is kept.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tonic::Code;

/// The contract's code for `code` when tonic answered it before any
/// handler ran: INVALID_ARGUMENT for INTERNAL, RESOURCE_EXHAUSTED for
/// OUT_OF_RANGE, else `code` itself.
pub fn contract_code(code: Code) -> Code {
    match code {
        Code::Internal => Code::InvalidArgument,
        Code::OutOfRange => Code::ResourceExhausted,
        other => other,
    }
}

/// Set once a call's request has been decoded and handed to its handler.
#[derive(Debug, Clone, Default)]
pub struct HandlerReached(Arc<AtomicBool>);

impl HandlerReached {
    /// Marks the call as handed to its handler.
    pub fn set(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether the call reached its handler.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Marks `request`'s call as handed to its handler (a no-op outside a
/// [`ContractCodes`] server).
pub fn mark_handler_reached<T>(request: &tonic::Request<T>) {
    if let Some(reached) = request.extensions().get::<HandlerReached>() {
        reached.set();
    }
}

/// Wraps a server's routes in [`ContractCodes`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ContractCodesLayer;

impl<S> tower_layer::Layer<S> for ContractCodesLayer {
    type Service = ContractCodes<S>;

    fn layer(&self, inner: S) -> ContractCodes<S> {
        ContractCodes { inner }
    }
}

/// The service [`ContractCodesLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct ContractCodes<S> {
    inner: S,
}

type Rewritten<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower_service::Service<http::Request<B>> for ContractCodes<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Rewritten<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let reached = HandlerReached::default();
        request.extensions_mut().insert(reached.clone());
        let call = self.inner.call(request);
        Box::pin(async move {
            let mut response = call.await?;
            if !reached.get() {
                rewrite(&mut response);
            }
            Ok(response)
        })
    }
}

/// Rewrites the `grpc-status` of a response no handler made.
fn rewrite<R>(response: &mut http::Response<R>) {
    let Some(code) = response.headers().get("grpc-status").map(|value| Code::from_bytes(value.as_bytes())) else {
        return;
    };
    let contract = contract_code(code);
    if contract != code {
        response.headers_mut().insert("grpc-status", http::HeaderValue::from(contract as i32));
    }
}
