"""quarantine items can be dismissed with a note; indexed by status and resolution time

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
    op.create_index(
        'ix_quarantine_status_resolved', 'quarantine', ['status', 'resolved_at'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_quarantine_status_resolved', table_name='quarantine')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_column('note')
