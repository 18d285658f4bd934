"""consent: the kind of recipient and what the signed form stated about the recipient's use

R-REL-2 after the legal review: a consent states the recipient's limits on use (Cal. Civ. Code
56.11(g)) and, when the recipient is a doctor, clinic or health plan receiving for treatment,
payment or operations, the redisclosure statement of 42 CFR 2.31(a)(4)(iii). Consents signed
before this revision stated neither, so they are backfilled as such (false, kind unknown): the
validity rule then names what is missing and the clerk asks for a new consent.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN (SQLite 3.35+ has both): a batch copy would reflect the tables this one
# refers to, and SQLite cannot reflect their expression indexes.
COLUMNS = (
    ('recipient_kind', lambda: sa.Column('recipient_kind', sa.String(length=16), nullable=True)),
    ('recipient_kind_settled',
     lambda: sa.Column('recipient_kind_settled', sa.String(length=16), nullable=True)),
    ('use_limits_stated', lambda: sa.Column('use_limits_stated', sa.Boolean(), nullable=False,
                                            server_default=sa.false())),
    ('redisclosure_statement_included',
     lambda: sa.Column('redisclosure_statement_included', sa.Boolean(), nullable=False,
                       server_default=sa.false())),
)


def upgrade() -> None:
    # Existing consents stated neither the limits on use nor the statement: the server
    # defaults backfill them as false, and their kind of recipient stays unknown (NULL).
    for _name, column in COLUMNS:
        op.add_column('consent', column())


def downgrade() -> None:
    for name, _column in reversed(COLUMNS):
        op.drop_column('consent', name)
