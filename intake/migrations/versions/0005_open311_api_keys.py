"""open311 api keys and requests

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 21:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('open311_api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_open311_api_keys_key_hash'))
    )
    op.create_table('open311_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['open311_api_keys.id'], name=op.f('fk_open311_requests_api_key_id_open311_api_keys')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_open311_requests_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_requests')),
    sa.UniqueConstraint('case_id', name=op.f('uq_open311_requests_case_id')),
    sa.UniqueConstraint('token', name=op.f('uq_open311_requests_token'))
    )
    with op.batch_alter_table('open311_requests', schema=None) as batch_op:
        batch_op.create_index('ix_open311_requests_key_fingerprint', ['api_key_id', 'fingerprint', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('open311_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_open311_requests_key_fingerprint')

    op.drop_table('open311_requests')
    op.drop_table('open311_api_keys')
