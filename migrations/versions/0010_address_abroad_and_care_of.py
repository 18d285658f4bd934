"""record_request.address_care_of and address_country: an institution line and addresses abroad

The wizard now takes a mailing address outside the United States (a country, with a free
region and postal code) and, for any address, an institution or "care of" line printed first
(a facility and an inmate number; #15 part 1). Two nullable columns; a request stored before
this revision has a US address (its country is None) and no such line. The downgrade drops
both columns: an address abroad would then lose its country, so the downgrade refuses while
any request has one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 02:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: a batch copy of record_request on SQLite would
    # drop its expression index (lower(contact_email)), which reflection cannot see.
    op.add_column('record_request', sa.Column('address_care_of', sa.String(length=200),
                                              nullable=True))
    op.add_column('record_request', sa.Column('address_country', sa.String(length=60),
                                              nullable=True))


def downgrade() -> None:
    abroad = op.get_bind().scalar(sa.text(
        "SELECT count(*) FROM record_request WHERE address_country IS NOT NULL"))
    if abroad:
        raise RuntimeError(f"{abroad} request(s) have an address abroad; downgrading would "
                           "drop their country. Export them first.")
    # SQLite has had DROP COLUMN since 3.35; alembic would copy the table instead.
    for column in ('address_country', 'address_care_of'):
        op.execute(f"ALTER TABLE record_request DROP COLUMN {column}")
