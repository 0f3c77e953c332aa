"""attendance day night hours: counted time inside the policy's night window

Revision ID: 0020
Revises: 0015
"""

from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('attendance_days', schema=None) as batch_op:
        batch_op.add_column(sa.Column('night_s', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('attendance_days', schema=None) as batch_op:
        batch_op.drop_column('night_s')
