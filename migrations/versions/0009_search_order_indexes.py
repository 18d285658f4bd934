"""Indexes for a broad name search in the queue's order (#13: search p95 at 1,000,000 requests)

A search for a common word ("de", "Garcia") matched tens of thousands of requests, which
PostgreSQL joined and sorted in full to show the first fifty (1.8 s at a million requests). With
an index on the queue's order over every status, and the search words indexed by request, the
database walks the requests in order and stops at the fiftieth that has the words. The index on
request_search_token.request_id alone is replaced by the one on (request_id, token), which
serves the same lookups. No data changes; the downgrade restores the previous indexes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 02:00:00
"""

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_record_request_due', 'record_request', ['working_due_on', 'id'],
                    unique=False)
    op.create_index('ix_request_search_token_request_token', 'request_search_token',
                    ['request_id', 'token'], unique=False)
    op.drop_index('ix_request_search_token_request_id', table_name='request_search_token')


def downgrade() -> None:
    op.create_index('ix_request_search_token_request_id', 'request_search_token',
                    ['request_id'], unique=False)
    op.drop_index('ix_request_search_token_request_token', table_name='request_search_token')
    op.drop_index('ix_record_request_due', table_name='record_request')
