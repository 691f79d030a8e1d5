"""report indexes: dashboards by date, registration search and ward filters

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 21:15:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cases_created_at', 'cases', ['created_at'])
    op.create_index('ix_calls_started_at', 'calls', ['started_at'])
    op.create_index('ix_registrations_cccd', 'registrations', ['cccd'])
    op.create_index('ix_registrations_ward', 'registrations', ['ward_id', 'id'])
    op.create_index('ix_household_members_cccd', 'household_members', ['cccd'])


def downgrade() -> None:
    op.drop_index('ix_household_members_cccd', table_name='household_members')
    op.drop_index('ix_registrations_ward', table_name='registrations')
    op.drop_index('ix_registrations_cccd', table_name='registrations')
    op.drop_index('ix_calls_started_at', table_name='calls')
    op.drop_index('ix_cases_created_at', table_name='cases')
