-- The W3C trace context (`traceparent`) of the submission that wrote each
-- outbox row, so that the relay publishes the event as part of the
-- submission's trace. NULL when the submission was not traced.
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
