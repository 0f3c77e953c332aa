"""attendance day target, core-hours missed and window close

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('attendance_days', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_s', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('core_missed_s', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('closes_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('attendance_days', schema=None) as batch_op:
        batch_op.drop_column('closes_at')
        batch_op.drop_column('core_missed_s')
        batch_op.drop_column('target_s')
