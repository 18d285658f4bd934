"""The audit trail as a kernel (R-AUD-2): the AuditEvent model, the hash chain and its
canonical form, verification, signatures and read snapshots.

Every area writes its events through :func:`portal.trail.chain.append_event`; the trail itself
imports no area (an import contract in setup.cfg says so), so nothing it does can depend on
requests, queues or releases. The auditor's reports live in portal.audit.
"""
