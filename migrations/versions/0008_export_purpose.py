"""audit_export.purpose and purpose_detail: why identified data was exported (R-AUD-4)

An export of identified data now records the purpose chosen from a list and a sentence typed
by the person exporting (#16 part 7). Two nullable columns; exports made before this revision
keep no purpose (none was asked for), which the auditor's list shows as "not recorded". The
downgrade drops both columns.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_export') as batch:
        batch.add_column(sa.Column('purpose', sa.String(length=24), nullable=True))
        batch.add_column(sa.Column('purpose_detail', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_export') as batch:
        batch.drop_column('purpose_detail')
        batch.drop_column('purpose')
