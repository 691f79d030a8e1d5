"""calls

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unique_id', sa.String(length=150), nullable=False),
    sa.Column('caller_e164', sa.String(length=16), nullable=True),
    sa.Column('dnid', sa.String(length=40), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('steps', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('outcome', sa.Enum('case_created', 'registered', 'status_told', 'agent', 'voicemail', 'emergency', 'hung_up', 'error', name='call_outcome', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('recordings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_calls_case_id_cases')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_calls_registration_id_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('unique_id', name=op.f('uq_calls_unique_id'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calls_caller_e164'), ['caller_e164'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_case_id'))
        batch_op.drop_index(batch_op.f('ix_calls_caller_e164'))

    op.drop_table('calls')
