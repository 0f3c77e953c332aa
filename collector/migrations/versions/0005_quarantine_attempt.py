"""quarantine keeps the raw punch that failed normalisation; employees indexed by department

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt', sa.JSON(), nullable=True))
    op.create_index('ix_employees_department', 'employees', ['department_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_employees_department', table_name='employees')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_column('attempt')
