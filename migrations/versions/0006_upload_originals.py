"""stored_document.original_of_id: the file as it was uploaded, kept as evidence

Every upload is now rebuilt inert before it is stored (#14 part 1); the bytes as received are
kept too, encrypted like every file, as a row of kind 'original' pointing at its rebuilt copy.
Originals are never served to anyone but compliance staff (with an audit event), and are
deleted with their copy. Files stored before this revision have no original: nothing to
backfill. The downgrade deletes the original rows first (their encrypted files are then
unreferenced: `flask --app portal fsck --repair` quarantines them), then drops the column.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 15:00:00
"""

import warnings
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


@contextmanager
def _batch():
    """SQLite copies the table; reflecting the tables it refers to meets their expression
    indexes (lower(email)), which SQLite cannot reflect and the copy does not need."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table('stored_document') as batch:
            yield batch


def upgrade() -> None:
    with _batch() as batch:
        batch.add_column(sa.Column('original_of_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f('fk_stored_document_original_of_id_stored_document'), 'stored_document',
            ['original_of_id'], ['id'], ondelete='CASCADE')
        batch.create_index(batch.f('ix_stored_document_original_of_id'), ['original_of_id'])


def downgrade() -> None:
    op.execute("DELETE FROM stored_document WHERE original_of_id IS NOT NULL")
    with _batch() as batch:
        batch.drop_index(batch.f('ix_stored_document_original_of_id'))
        batch.drop_constraint(batch.f('fk_stored_document_original_of_id_stored_document'),
                              type_='foreignkey')
        batch.drop_column('original_of_id')
