"""notification.claim_token: drop its index (no query searches on it since claims read rows back by id)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 04:30:00

"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_claim_token'))


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_claim_token'), ['claim_token'], unique=False)
