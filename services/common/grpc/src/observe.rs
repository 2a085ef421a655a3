//! Per-call telemetry of every gongkai gRPC server: a server span that
//! continues the caller's W3C trace (a `traceparent` in the request
//! metadata), and the call's duration by method. While nothing is exported
//! a call passes straight through, with no span and no allocation.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_util::future::Either;
use tracing::Instrument;

/// Wraps a server's routes in [`Observe`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ObserveLayer;

impl<S> tower_layer::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe { inner }
    }
}

/// The service [`ObserveLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct Observe<S> {
    inner: S,
}

type Traced<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The `grpc-status` of UNIMPLEMENTED.
const UNIMPLEMENTED: &str = "12";

impl<S, B, R> tower_service::Service<http::Request<B>> for Observe<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<S::Future, Traced<Result<S::Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        // Health probes and reflection would only add noise to the traces.
        if !gongkai_telemetry::exporting() || path.starts_with("/grpc.") {
            return Either::Left(self.inner.call(request));
        }
        let method = path.to_owned();
        let span = tracing::info_span!(
            "grpc",
            otel.name = method.trim_start_matches('/'),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.grpc.status_code = tracing::field::Empty,
        );
        gongkai_telemetry::propagation::continue_trace_from_headers(&span, request.headers());
        let started = Instant::now();
        let call = self.inner.call(request);
        Either::Right(Box::pin(async move {
            let result = call.instrument(span.clone()).await;
            let elapsed = started.elapsed().as_secs_f64();
            let mut label = std::borrow::Cow::Owned(method);
            if let Ok(response) = &result {
                // Errors answer trailers-only, so their status is in the
                // headers; a success reports OK in trailers this cannot see.
                let code = response.headers().get("grpc-status").and_then(|code| code.to_str().ok()).unwrap_or("0");
                span.record("rpc.grpc.status_code", code);
                // Methods the server lacks are made up by callers: one label
                // for all of them keeps the metric's cardinality bounded.
                if code == UNIMPLEMENTED {
                    label = std::borrow::Cow::Borrowed("unimplemented");
                }
            }
            gongkai_telemetry::metrics::rpc_duration(label, elapsed);
            result
        }))
    }
}
