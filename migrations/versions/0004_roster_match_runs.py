"""roster_match_run: every run of the roster match, as data rather than read from the trail

The request page used to decide whether the match had ever run by looking for a
`roster.matched` audit event, and each run replaced the earlier ranking (R-ID-2(c) asks that
every run be kept). Runs are now rows. The backfill makes one row per `roster.matched` event
already in the trail: its time, actor and candidate count; the last run of each request also
gets the ranking stored today. The trail kept no inputs and no earlier rankings, so those stay
empty (NULL). The downgrade drops the table; the events are untouched either way.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import portal.core.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

INSERT_BATCH = 5_000


def upgrade() -> None:
    op.create_table(
        'roster_match_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('ran_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor_type', sa.String(length=10), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('inputs_digest', sa.String(length=64), nullable=True),
        sa.Column('candidate_count', sa.Integer(), nullable=False),
        sa.Column('ranking', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['request_id'], ['record_request.id'],
                                name=op.f('fk_roster_match_run_request_id_record_request'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_match_run')),
    )
    op.create_index(op.f('ix_roster_match_run_request_id'), 'roster_match_run', ['request_id'],
                    unique=False)
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    events = sa.table('audit_event', sa.column('id'), sa.column('occurred_at'),
                      sa.column('actor_type'), sa.column('actor_id'), sa.column('request_id'),
                      sa.column('action'), sa.column('summary', sa.JSON()))
    matches = sa.table('roster_match', sa.column('request_id'), sa.column('patient_id'),
                       sa.column('rank'), sa.column('score'), sa.column('decision'),
                       sa.column('matched_fields', sa.JSON()))
    requests = sa.table('record_request', sa.column('id'))
    runs = sa.table('roster_match_run', sa.column('request_id'), sa.column('ran_at'),
                    sa.column('actor_type'), sa.column('actor_id'), sa.column('inputs_digest'),
                    sa.column('candidate_count'), sa.column('ranking', sa.JSON(none_as_null=True)))
    rows = bind.execute(
        sa.select(events.c.id, events.c.occurred_at, events.c.actor_type, events.c.actor_id,
                  events.c.request_id, events.c.summary)
        .where(events.c.action == 'roster.matched',
               events.c.request_id.in_(sa.select(requests.c.id)))
        .order_by(events.c.request_id, events.c.id)).all()
    last_event = {row.request_id: row.id for row in rows}
    rankings: dict[int, list] = {}
    for match in bind.execute(sa.select(matches).order_by(matches.c.request_id,
                                                          matches.c.rank)):
        rankings.setdefault(match.request_id, []).append({
            'patient_id': match.patient_id, 'rank': match.rank, 'score': match.score,
            'decision': match.decision, 'matched_fields': match.matched_fields})
    batch = []
    for row in rows:
        summary = row.summary or {}
        batch.append({
            'request_id': row.request_id, 'ran_at': row.occurred_at,
            'actor_type': row.actor_type, 'actor_id': row.actor_id, 'inputs_digest': None,
            'candidate_count': int(summary.get('candidates', 0)),
            'ranking': (rankings.get(row.request_id, []) if last_event[row.request_id] == row.id
                        else None),
        })
        if len(batch) >= INSERT_BATCH:
            bind.execute(runs.insert(), batch)
            batch = []
    if batch:
        bind.execute(runs.insert(), batch)


def downgrade() -> None:
    op.drop_index(op.f('ix_roster_match_run_request_id'), table_name='roster_match_run')
    op.drop_table('roster_match_run')
