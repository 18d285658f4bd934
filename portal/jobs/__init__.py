"""Durable background work: the outbox, its dispatcher and the mail it sends (R-AUD-2, R-ID-5).

A side effect that leaves the transaction (an email, the roster match, a daily job) is written
as a ``Job`` row in the same transaction as the change that causes it, so it exists exactly when
that change does. After the commit a dispatcher hands the row to whoever runs it: the job queue
library (huey, on Redis) in production, a thread of the serving process in the embedded default,
or the committing thread itself in tests. Like the audit trail, this is a kernel every area
calls and that calls no area: handlers register themselves by name.
"""
