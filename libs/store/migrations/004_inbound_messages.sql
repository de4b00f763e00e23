-- Interoperability intake (HL7 v2 over MLLP or HTTP, FHIR): every message received is stored raw before it is
-- answered, with the answer given (ACK code or HTTP outcome), the reason, and the events it became. An
-- acknowledged message is never lost; an operator can see what each sender sent and why it was refused.
CREATE TABLE inbound_messages (
  id           bigserial   PRIMARY KEY,
  -- mllp | http | fhir
  channel      text        NOT NULL,
  -- hl7v2 | fhir+json
  format       text        NOT NULL,
  received_at  timestamptz NOT NULL,
  -- the message as received (it holds patient data: never logged, shown only to leads)
  raw          text        NOT NULL,
  sender       text,
  control_id   text,
  message_type text,
  -- AA | AE | AR (FHIR answers are recorded in the same terms); NULL until answered
  ack_code     text,
  reason       text,
  event_ids    text[]      NOT NULL DEFAULT '{}',
  answered_at  timestamptz
);
CREATE INDEX inbound_messages_sender_idx ON inbound_messages (sender, control_id);
CREATE INDEX inbound_messages_refused_idx ON inbound_messages (id) WHERE ack_code IN ('AE', 'AR');
