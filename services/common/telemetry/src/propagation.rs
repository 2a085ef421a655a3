//! W3C trace context across process boundaries, in one place.
//!
//! A submission's trace travels as a `traceparent` string: in the gRPC
//! metadata a client sends, in the outbox row the append writes, in the
//! Kafka header the relay sends. [`traceparent`] captures a span's context as
//! that string and [`continue_trace`] makes a span a child of one. Both are
//! no-ops while nothing is exported ([`crate::exporting`]), so an untraced
//! process pays nothing for them.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C header (and metadata key, and Kafka header) name.
pub const TRACEPARENT: &str = "traceparent";

/// The `traceparent` naming `span` as the parent, or `None` when nothing is
/// exported or the span is not recorded.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    if !crate::exporting() {
        return None;
    }
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut captured = Captured(None);
    TraceContextPropagator::new().inject_context(&context, &mut captured);
    captured.0
}

/// Makes `span` (not yet entered) a child of the remote span `traceparent`
/// names. A malformed value is ignored: the span then starts a trace.
pub fn continue_trace(span: &tracing::Span, traceparent: &str) {
    if crate::exporting() {
        set_parent(span, extract(&One(traceparent)));
    }
}

/// Makes `span` (not yet entered), which handles several traced items at
/// once, a child of the first `traceparent` and linked to the others.
pub fn continue_traces<'a>(span: &tracing::Span, traceparents: impl IntoIterator<Item = &'a str>) {
    if !crate::exporting() {
        return;
    }
    let mut remote = traceparents.into_iter().map(|traceparent| extract(&One(traceparent))).filter(is_valid);
    if let Some(parent) = remote.next() {
        set_parent(span, parent);
    }
    for other in remote {
        span.add_link(other.span().span_context().clone());
    }
}

/// Makes `span` (not yet entered) a child of the span named by the
/// `traceparent` header of an incoming HTTP/2 (gRPC) request, if any.
pub fn continue_trace_from_headers(span: &tracing::Span, headers: &http::HeaderMap) {
    if crate::exporting() && headers.contains_key(TRACEPARENT) {
        set_parent(span, extract(&Headers(headers)));
    }
}

fn extract(carrier: &dyn Extractor) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(carrier)
}

fn is_valid(context: &opentelemetry::Context) -> bool {
    context.span().span_context().is_valid()
}

fn set_parent(span: &tracing::Span, context: opentelemetry::Context) {
    if is_valid(&context)
        && let Err(error) = span.set_parent(context)
    {
        tracing::debug!(%error, "Could not continue the remote trace.");
    }
}

/// Receives what the propagator writes; keeps `traceparent` only.
struct Captured(Option<String>);

impl Injector for Captured {
    fn set(&mut self, key: &str, value: String) {
        if key == TRACEPARENT {
            self.0 = Some(value);
        }
    }
}

/// A carrier holding one `traceparent` value.
struct One<'a>(&'a str);

impl Extractor for One<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

/// HTTP headers as a carrier.
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    const REMOTE_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    const REMOTE: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    /// Runs `test` under a subscriber that records OpenTelemetry spans, as
    /// an exporting process does.
    fn traced(test: impl FnOnce()) {
        crate::EXPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
        let provider = SdkTracerProvider::builder().build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), test);
    }

    fn trace_id(traceparent: &str) -> &str {
        traceparent.split('-').nth(1).expect("version-trace-span-flags")
    }

    #[test]
    fn a_span_continues_the_remote_trace_and_names_itself_as_the_next_parent() {
        traced(|| {
            let span = tracing::info_span!("child");
            continue_trace(&span, REMOTE);
            let own = traceparent(&span).expect("a recorded span has a context");
            assert_eq!(trace_id(&own), REMOTE_TRACE);
            assert_ne!(own, REMOTE, "the child names itself, not its parent");
            assert!(own.starts_with("00-") && own.ends_with("-01"), "{own}");
        });
    }

    #[test]
    fn grpc_metadata_carries_the_remote_trace() {
        traced(|| {
            let mut headers = http::HeaderMap::new();
            headers.insert(TRACEPARENT, http::HeaderValue::from_static(REMOTE));
            let span = tracing::info_span!("server");
            continue_trace_from_headers(&span, &headers);
            assert_eq!(trace_id(&traceparent(&span).expect("context")), REMOTE_TRACE);
        });
    }

    #[test]
    fn a_span_for_several_items_continues_the_first_valid_trace() {
        traced(|| {
            let span = tracing::info_span!("batch");
            let other = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
            continue_traces(&span, ["00-malformed-01", REMOTE, other]);
            assert_eq!(trace_id(&traceparent(&span).expect("context")), REMOTE_TRACE);
        });
    }

    #[test]
    fn a_malformed_traceparent_starts_a_new_trace() {
        traced(|| {
            let span = tracing::info_span!("child");
            continue_trace(&span, "00-not-a-trace-01");
            let own = traceparent(&span).expect("context");
            assert_ne!(trace_id(&own), REMOTE_TRACE);
            assert_eq!(trace_id(&own).len(), 32);
        });
    }
}
