"""staff_change: changes to staff accounts that wait for a second administrator

Two-person control (#14 part 5): granting access, changing a working account's email,
resetting its password or MFA and reactivating it are now asked for by one administrator and
applied when another approves. A new table; nothing to backfill (changes made before this
revision were applied at once and are on the audit trail). The downgrade drops the table,
pending changes with it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 15:30:00
"""

import sqlalchemy as sa
from alembic import op

import portal.core.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('requested_at', portal.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', portal.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['subject_id'], ['staff_user.id'],
                                name=op.f('fk_staff_change_subject_id_staff_user'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by_id'], ['staff_user.id'],
                                name=op.f('fk_staff_change_requested_by_id_staff_user')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['staff_user.id'],
                                name=op.f('fk_staff_change_decided_by_id_staff_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_change')),
    )
    op.create_index('ix_staff_change_status_subject', 'staff_change', ['status', 'subject_id'])


def downgrade() -> None:
    op.drop_index('ix_staff_change_status_subject', table_name='staff_change')
    op.drop_table('staff_change')
