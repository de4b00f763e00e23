-- An email being sent: a delivery claims a pending notification until this time before it talks to SMTP, so two
-- deliveries of the same row (a retried job and another one, another worker, the sweeper's re-send) never both send
-- it. A claim is released when the attempt ends; one left by a process that died expires, and the next delivery
-- sends the email (the documented window for a second copy: SMTP had accepted it before the process died).
ALTER TABLE notifications ADD COLUMN claimed_until timestamptz;
