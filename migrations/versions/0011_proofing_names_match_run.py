"""proofing_step.match_run_id: the roster-match run a patient's location relied on (R-ID-2(c))

#16 part 6: the clerk locates the patient from a ranking, and the proofing record now names
that run. Backfill: each "patient" proofing step that accepted a roster match gets the request's
latest run made at or before the decision (the ranking the clerk saw); steps with no such run
(a patient found by MRN before any run) keep none. The downgrade drops the column.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 02:40:00
"""

import warnings
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


@contextmanager
def _proofing_step_batch():
    """SQLite copies proofing_step to change its keys; reflecting the tables it refers to
    warns about record_request's expression index, which that copy never touches."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        with op.batch_alter_table('proofing_step') as batch:
            yield batch


def upgrade() -> None:
    with _proofing_step_batch() as batch:
        batch.add_column(sa.Column('match_run_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_proofing_step_match_run_id_roster_match_run',
                                 'roster_match_run', ['match_run_id'], ['id'],
                                 ondelete='SET NULL')
    op.execute(
        "UPDATE proofing_step SET match_run_id = ("
        " SELECT max(r.id) FROM roster_match_run r"
        " WHERE r.request_id = proofing_step.request_id"
        " AND r.ran_at <= proofing_step.decided_at)"
        " WHERE question = 'patient' AND evidence = 'roster_match'")


def downgrade() -> None:
    with _proofing_step_batch() as batch:
        batch.drop_constraint('fk_proofing_step_match_run_id_roster_match_run',
                              type_='foreignkey')
        batch.drop_column('match_run_id')
