//! The relay's publishing pipeline: while it leads, it reads batches of the
//! outbox and sends them while earlier ones are in flight, marks the rows
//! Kafka acknowledged, and after a failed delivery parks a refused event's
//! project or has the stream retried.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use gongkai_bus::kafka::{EventMessage, EventProducer, PublishError};
use gongkai_bus::report;
use gongkai_store::{OutboxCursor, OutboxRead, OutboxRecord, RelayLeadership, StoreError};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

use crate::publish::publish_span;
use crate::{Relay, RelayError};

/// Why [`Relay::stream`] ended. Nothing it sent is still in flight then,
/// unless leadership was lost.
pub(crate) enum StreamEnd {
    /// Shutdown was asked for; the batches in flight were finished.
    Shutdown,
    /// Leadership could not be confirmed: publishing stopped at once.
    LeadershipLost(Option<StoreError>),
    /// Reading the outbox failed: retry after a pause.
    ReadFailed,
    /// Kafka did not acknowledge every row: rebuild the producer and retry
    /// from the first unmarked row after a pause.
    DeliveryFailed,
    /// Kafka acknowledged rows but marking them failed: they will be sent
    /// again (duplicates) after a pause.
    MarkFailed,
    /// Kafka refused one row for good: its project was parked; go on at once
    /// with a fresh producer.
    Parked,
}

/// A future the relay keeps across the turns of its loop.
type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A batch handed to the producer, waiting for Kafka's answer.
struct InFlight {
    /// The rows' positions, in the order sent.
    positions: Vec<u64>,
    /// The rows' projects (the message keys), for the project of a row
    /// Kafka refuses; the producer holds the messages themselves.
    project_codes: Vec<String>,
    /// The `relay.publish` spans of traced rows, by index in the batch.
    spans: Vec<(usize, tracing::Span)>,
    /// Kafka's answer for the whole batch.
    answer: Pending<'static, Result<(), PublishError>>,
}

/// Acknowledged rows being marked published.
struct Marking<'a> {
    positions: Vec<u64>,
    mark: Pending<'a, Result<u64, StoreError>>,
}

/// The first row Kafka did not acknowledge, and why.
struct Failure {
    project_code: String,
    position: u64,
    /// Rows acknowledged before it since the stream started.
    acknowledged: usize,
    error: PublishError,
}

impl Relay {
    /// Publishes the outbox through `producer` until shutdown or a failure,
    /// as a pipeline: the next batch is read and sent while earlier ones are
    /// in flight (up to [`RelayConfig::max_in_flight`] rows), each only once
    /// leadership was confirmed for it, and Kafka's answers are taken in the
    /// order the batches were sent. The rows of acknowledged batches are
    /// marked published (as position ranges) while the pipeline goes on; the
    /// batches acknowledged during one mark are marked together by the next.
    /// A read leaves out every row sent and not yet marked, so each row is
    /// read once, and rows behind those in flight (a late commit, a released
    /// stream) are read first (see `gongkai_store`'s outbox module).
    ///
    /// When Kafka does not acknowledge a row, nothing more is read or sent:
    /// the batches still in flight are waited for, the rows acknowledged
    /// before the failed one are marked and those after it are not (they are
    /// sent again, possibly as duplicates), and the stream ends so that a
    /// fresh producer resumes at the first unmarked row. `progressed` is set
    /// when a read found nothing to publish or a mark went through.
    ///
    /// [`RelayConfig::max_in_flight`]: crate::RelayConfig::max_in_flight
    pub(crate) async fn stream(
        &self,
        producer: &EventProducer,
        leadership: &mut RelayLeadership,
        shutdown: &CancellationToken,
        progressed: &mut bool,
    ) -> StreamEnd {
        let limit = self.config.batch_size.max(1);
        let max_in_flight = self.config.max_in_flight.max(limit) as usize;
        // Sent, oldest first, waiting for Kafka's answer.
        let mut window: VecDeque<InFlight> = VecDeque::new();
        // Acknowledged rows waiting for the next mark, and the mark running.
        let mut acknowledged: Vec<u64> = Vec::new();
        let mut marking: Option<Marking<'_>> = None;
        let mut reading: Option<Pending<'_, Result<OutboxRead, StoreError>>> = None;
        // Where the next read goes on; `None`: from the first unpublished row.
        let mut cursor: Option<OutboxCursor> = None;
        // Read as soon as there is room, rather than when poked, polled or a
        // mark went through: the last read filled its batch.
        let mut read_now = true;
        // A read that did not fill its batch is followed by the next one no
        // sooner than `read_linger` after it started: under steady load each
        // read then carries many rows instead of the one append that woke
        // it, and the relay's statements per event fall (each read is a
        // few statements). A full read is followed at once.
        let mut earliest_read = tokio::time::Instant::now();
        // Once set, nothing more is read; what is in flight is finished.
        let mut stop: Option<StreamEnd> = None;
        let mut failure: Option<Failure> = None;
        let mut marks_failed = false;
        loop {
            let unmarked = window.iter().map(|batch| batch.positions.len()).sum::<usize>()
                + acknowledged.len()
                + marking.as_ref().map_or(0, |marking| marking.positions.len());
            let may_read = read_now && tokio::time::Instant::now() >= earliest_read;
            if stop.is_none() && reading.is_none() && may_read && unmarked + limit as usize <= max_in_flight {
                earliest_read = tokio::time::Instant::now() + self.config.read_linger;
                let except: Vec<u64> = window
                    .iter()
                    .flat_map(|batch| batch.positions.iter().copied())
                    .chain(acknowledged.iter().copied())
                    .chain(marking.iter().flat_map(|marking| marking.positions.iter().copied()))
                    .collect();
                let after = cursor.clone();
                reading =
                    Some(Box::pin(async move { self.outbox.read_for_relay(after.as_ref(), limit, &except).await }));
            }
            if marking.is_none() && !acknowledged.is_empty() && !marks_failed {
                let positions = std::mem::take(&mut acknowledged);
                let marked = positions.clone();
                marking = Some(Marking {
                    positions,
                    mark: Box::pin(async move { self.outbox.mark_published(&marked).await }),
                });
            }
            if stop.is_some() && window.is_empty() && marking.is_none() && (acknowledged.is_empty() || marks_failed) {
                break;
            }
            tokio::select! {
                biased;
                () = shutdown.cancelled(), if stop.is_none() => {
                    stop = Some(StreamEnd::Shutdown);
                    reading = None;
                }
                marked = async { marking.as_mut().expect("a mark runs").mark.as_mut().await },
                    if marking.is_some() => {
                    let Marking { positions, .. } = marking.take().expect("a mark ran");
                    match marked {
                        Ok(_) => {
                            *progressed = true;
                            read_now = true;
                            debug!(count = positions.len(), first = positions.first(), last = positions.last(), "Published rows.");
                        }
                        Err(error) => {
                            warn!(
                                error = %report(&error),
                                count = positions.len(),
                                "Kafka acknowledged rows but marking them published failed; they will be sent again."
                            );
                            marks_failed = true;
                            stop.get_or_insert(StreamEnd::MarkFailed);
                            reading = None;
                        }
                    }
                }
                answer = async { window.front_mut().expect("a batch is in flight").answer.as_mut().await },
                    if !window.is_empty() => {
                    let batch = window.pop_front().expect("a batch was in flight");
                    let count = answer.as_ref().map_or_else(|error| error.acknowledged, |()| batch.positions.len());
                    for (_, span) in batch.spans.iter().filter(|(index, _)| *index >= count) {
                        span.record("otel.status_code", "ERROR");
                    }
                    // Nothing behind a failed row is marked: it is all sent again.
                    if failure.is_none() {
                        acknowledged.extend_from_slice(&batch.positions[..count]);
                        if let Err(error) = answer {
                            failure = Some(Failure {
                                project_code: batch.project_codes[count].clone(),
                                position: batch.positions[count],
                                acknowledged: count,
                                error,
                            });
                            stop.get_or_insert(StreamEnd::DeliveryFailed);
                            reading = None;
                        }
                    }
                }
                read = async { reading.as_mut().expect("a read runs").as_mut().await }, if reading.is_some() => {
                    reading = None;
                    let OutboxRead { records, next, behind } = match read {
                        Ok(read) => read,
                        Err(error) => {
                            warn!(error = %report(&error), "Could not read the outbox; retrying.");
                            stop.get_or_insert(StreamEnd::ReadFailed);
                            continue;
                        }
                    };
                    if behind {
                        debug!("Rows turned up behind those read; reading them next.");
                    }
                    cursor = next;
                    read_now = behind || records.len() >= limit as usize;
                    if read_now {
                        earliest_read = tokio::time::Instant::now();
                    }
                    if records.is_empty() {
                        *progressed = true;
                        continue;
                    }
                    // Publish only while still the one leader. A check that
                    // hangs (the database unreachable) counts as lost: by the
                    // time the server drops the session, this relay must have
                    // stopped.
                    match tokio::time::timeout(self.config.leadership_timeout, leadership.check()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => return StreamEnd::LeadershipLost(Some(error)),
                        Err(_) => return StreamEnd::LeadershipLost(None),
                    }
                    let (batch, whole) = self.send(producer, records).await;
                    window.push_back(batch);
                    if !whole {
                        // Its answer names the row refused; nothing may overtake it.
                        stop.get_or_insert(StreamEnd::DeliveryFailed);
                    }
                }
                () = async {
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(self.config.poll_interval) => {}
                    }
                }, if stop.is_none() && reading.is_none() && !read_now => {
                    read_now = true;
                }
                () = tokio::time::sleep_until(earliest_read),
                    if stop.is_none() && reading.is_none() && read_now && !may_read => {
                    // The linger is over: the loop reads now.
                }
            }
        }
        match failure {
            Some(failure) => self.failed(failure).await,
            None => stop.unwrap_or(StreamEnd::Shutdown),
        }
    }

    /// Deals with a row Kafka did not acknowledge, once nothing is in flight
    /// and the rows before it are marked: one refused for good parks its
    /// project ([`StreamEnd::Parked`]); anything else is retried
    /// ([`StreamEnd::DeliveryFailed`]).
    async fn failed(&self, failure: Failure) -> StreamEnd {
        let Failure { project_code, position, acknowledged, error } = failure;
        if error.refuses_the_event() {
            let reason = report(&error.cause);
            return match self.outbox.park_relay_stream(&project_code, position, &reason).await {
                Ok(()) => {
                    error!(
                        project = %project_code,
                        position,
                        %reason,
                        "Kafka refused an event for good; its project's stream is parked, every other goes on."
                    );
                    StreamEnd::Parked
                }
                Err(park_error) => {
                    warn!(error = %report(&park_error), "Parking a refused stream failed; retrying.");
                    StreamEnd::DeliveryFailed
                }
            };
        }
        let error = RelayError::Publish(error);
        if matches!(&error, RelayError::Publish(publish) if publish.is_retryable()) {
            warn!(error = %report(&error), acknowledged, position, "Kafka is unavailable; retrying from the first unacknowledged event.");
        } else {
            error!(error = %report(&error), acknowledged, position, "Kafka refused an event; retrying from the first unacknowledged event.");
        }
        StreamEnd::DeliveryFailed
    }

    /// Hands `batch` to the producer; `false` when the producer refused part
    /// of it (its answer then names the first row not taken).
    async fn send(&self, producer: &EventProducer, batch: Vec<OutboxRecord>) -> (InFlight, bool) {
        // The spans of traced events (by index in the batch) end once Kafka
        // has answered for the whole batch.
        let mut spans: Vec<(usize, tracing::Span)> = Vec::new();
        let positions: Vec<u64> = batch.iter().map(|record| record.position).collect();
        let messages: Vec<EventMessage> = batch
            .into_iter()
            .enumerate()
            .map(|(index, record)| {
                let traceparent = record.traceparent.as_deref().map(|appended| match publish_span(&record, appended) {
                    Some((span, traceparent)) => {
                        spans.push((index, span));
                        traceparent
                    }
                    // Not exporting here: pass the submission's context on.
                    None => appended.to_owned(),
                });
                self.message(record, traceparent)
            })
            .collect();
        let project_codes = messages.iter().map(|message| message.key.clone()).collect();
        let sent = producer.send(&messages).await;
        let whole = sent.is_whole();
        (InFlight { positions, project_codes, spans, answer: Box::pin(sent.acknowledged()) }, whole)
    }
}
