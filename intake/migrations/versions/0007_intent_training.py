"""intent training: reviewed messages and model versions

Model versions themselves live on disk (var/models/versions/<id>/ with a manifest, and the
live pointer var/models/live.json), where every worker loads them; the database keeps the
reviews of messages and call transcripts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 20:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('training_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('predicted_intent', sa.String(length=40), nullable=True),
    sa.Column('predicted_confidence', sa.Float(), nullable=True),
    sa.Column('status', sa.Enum('proposed', 'labelled', 'dismissed', name='review_status', native_enum=False, create_constraint=True, length=13), nullable=False),
    sa.Column('corrected_intent', sa.String(length=40), nullable=True),
    sa.Column('corrected_category', sa.String(length=40), nullable=True),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_training_reviews_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_training_reviews_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_training_reviews_proposed_by_id_users')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_training_reviews_reviewed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_reviews')),
    sa.UniqueConstraint('case_id', name=op.f('uq_training_reviews_case_id')),
    sa.UniqueConstraint('message_id', name=op.f('uq_training_reviews_message_id'))
    )
    with op.batch_alter_table('training_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_reviews_reviewed_at'), ['reviewed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('training_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_reviews_reviewed_at'))

    op.drop_table('training_reviews')
