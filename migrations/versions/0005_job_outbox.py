"""job: the outbox of durable background work (mail, the roster match, daily jobs)

Work that used to run on a thread of the web process after the commit (and was lost if the
process died) is now a row written in the same transaction as the change that causes it. A new
table only: nothing to backfill (work in flight at the upgrade belonged to the old processes).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import portal.core.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uid', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=60), nullable=False),
        sa.Column('payload', sa.LargeBinary(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=120), nullable=True),
        sa.Column('request_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('locked_until', portal.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('retried_by', sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_job_dedupe_key')),
        sa.UniqueConstraint('uid', name=op.f('uq_job_uid')),
    )
    with op.batch_alter_table('job') as batch:
        batch.create_index('ix_job_status_next_attempt_at', ['status', 'next_attempt_at'])
        batch.create_index(batch.f('ix_job_request_id'), ['request_id'])


def downgrade() -> None:
    op.drop_table('job')
