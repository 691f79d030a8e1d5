"""console queue: indexes for the queue, case page and dashboards

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 20:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

OPEN = "status IN ('new', 'acknowledged', 'in_progress', 'reopened')"

# name -> (table, columns, PostgreSQL partial-index condition)
INDEXES = {
    'ix_cases_queue': ('cases', ['priority', 'created_at', 'id'], None),
    'ix_cases_queue_open': ('cases', ['priority', 'created_at', 'id'], OPEN),
    'ix_cases_queue_status': ('cases', ['status', 'priority', 'created_at', 'id'], None),
    'ix_cases_queue_agency': ('cases', ['agency_id', 'priority', 'created_at', 'id'], None),
    'ix_cases_queue_assignee': ('cases', ['assignee_id', 'priority', 'created_at', 'id'], OPEN),
    'ix_cases_ack_due_open': ('cases', ['ack_due_at'], f"{OPEN} AND acknowledged_at IS NULL"),
    'ix_cases_resolve_due_open': ('cases', ['resolve_due_at'], OPEN),
    'ix_conversations_state_waiting': (
        'conversations', ['state', 'last_message_at'], "state IN ('waiting_agent', 'agent')"
    ),
}


def upgrade() -> None:
    for name, (table, columns, where) in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                name,
                columns,
                unique=False,
                postgresql_where=sa.text(where) if where else None,
            )


def downgrade() -> None:
    for name, (table, _columns, _where) in reversed(INDEXES.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
