"""API: an account's phone verified through WeChat; when the archive's phone was confirmed.

Revision ID: 0016_api
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op


revision = "0016_api"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("phone_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("phone_masked", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("phone_verified_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("retiree") as batch:
        batch.add_column(sa.Column("phone_confirmed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("retiree") as batch:
        batch.drop_column("phone_confirmed_at")
    with op.batch_alter_table("account") as batch:
        batch.drop_column("phone_verified_at")
        batch.drop_column("phone_masked")
        batch.drop_column("phone_enc")
