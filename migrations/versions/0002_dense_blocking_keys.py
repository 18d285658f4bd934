"""dense roster blocking keys: one row per patient and pair of name initials

The roster match's keys were one row each (about 5.4 per patient, with a surrogate id and two
indexes). Now one row holds the three name-and-date keys of a pair of name initials, keyed by
patient, and the date-of-birth key is the patient's own (indexed) dob column. Existing keys are
carried over as they are stored, so the match finds the same patients before any re-import.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 21:00:00
"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

KEY = sa.String(length=80).with_variant(sa.String(length=80, collation='C'), 'postgresql')
KINDS = ('nym', 'nmd', 'nyd')
INSERT_BATCH = 10_000


def _dense_table() -> sa.Table:
    return sa.table('roster_blocking_key', sa.column('patient_id'), sa.column('year_month_key'),
                    sa.column('month_day_key'), sa.column('year_day_key'))


def _key_table() -> sa.Table:
    return sa.table('roster_blocking_key', sa.column('patient_id'), sa.column('key'))


def _insert(rows: list[dict], table: sa.Table) -> None:
    for start in range(0, len(rows), INSERT_BATCH):
        op.get_bind().execute(table.insert(), rows[start:start + INSERT_BATCH])


def upgrade() -> None:
    bind = op.get_bind()
    # "nym:<g><s>:..." -> the pair <g><s> (two characters: one sound initial each).
    pairs: dict[tuple[int, str], dict[str, str]] = defaultdict(dict)
    for patient_id, key in bind.execute(sa.text(
            "SELECT patient_id, key FROM roster_blocking_key WHERE key NOT LIKE 'dob:%'")):
        pairs[(patient_id, key[4:6])][key[:3]] = key
    rows = [
        {'patient_id': patient_id, 'year_month_key': keys['nym'], 'month_day_key': keys['nmd'],
         'year_day_key': keys['nyd']}
        for (patient_id, _pair), keys in sorted(pairs.items())
        if all(kind in keys for kind in KINDS)
    ]
    del pairs
    with op.batch_alter_table('roster_blocking_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_blocking_key_patient_id'))
        batch_op.drop_index('ix_roster_blocking_key_key_patient')
    op.drop_table('roster_blocking_key')

    op.create_table('roster_blocking_key',
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('year_month_key', KEY, nullable=False),
    sa.Column('month_day_key', KEY, nullable=False),
    sa.Column('year_day_key', KEY, nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['roster_patient.id'], name=op.f('fk_roster_blocking_key_patient_id_roster_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', 'year_month_key', name=op.f('pk_roster_blocking_key')),
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('roster_blocking_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_blocking_key_month_day_key'), ['month_day_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_blocking_key_year_day_key'), ['year_day_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_blocking_key_year_month_key'), ['year_month_key'], unique=False)
    _insert(rows, _dense_table())


def downgrade() -> None:
    bind = op.get_bind()
    rows = []
    for patient_id, *keys in bind.execute(sa.text(
            "SELECT patient_id, year_month_key, month_day_key, year_day_key "
            "FROM roster_blocking_key")):
        rows.extend({'patient_id': patient_id, 'key': key} for key in keys)
    # The date-of-birth key of every patient: what the dense table finds through roster_patient.
    for patient_id, dob in bind.execute(sa.select(sa.column('id'), sa.column('dob', sa.Date()))
                                        .select_from(sa.table('roster_patient'))):
        rows.append({'patient_id': patient_id, 'key': f'dob:{dob.isoformat()}'})
    with op.batch_alter_table('roster_blocking_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_blocking_key_year_month_key'))
        batch_op.drop_index(batch_op.f('ix_roster_blocking_key_year_day_key'))
        batch_op.drop_index(batch_op.f('ix_roster_blocking_key_month_day_key'))
    op.drop_table('roster_blocking_key')

    op.create_table('roster_blocking_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['roster_patient.id'], name=op.f('fk_roster_blocking_key_patient_id_roster_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_blocking_key'))
    )
    with op.batch_alter_table('roster_blocking_key', schema=None) as batch_op:
        batch_op.create_index('ix_roster_blocking_key_key_patient', ['key', 'patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_blocking_key_patient_id'), ['patient_id'], unique=False)
    _insert(rows, _key_table())
