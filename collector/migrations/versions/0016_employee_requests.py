"""employee requests (missed punch, leave, business trip, overtime, shift swap) with approval

Revision ID: 0016
Revises: 0015
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('employee_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('other_employee_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('outcome', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_employee_requests_employee_id_employees')),
    sa.ForeignKeyConstraint(['other_employee_id'], ['employees.id'], name=op.f('fk_employee_requests_other_employee_id_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employee_requests'))
    )
    op.create_index('ix_employee_requests_state_day', 'employee_requests', ['state', 'local_date'], unique=False)
    op.create_index('ix_employee_requests_employee', 'employee_requests', ['employee_id', 'kind', 'local_date'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_employee_requests_employee', table_name='employee_requests')
    op.drop_index('ix_employee_requests_state_day', table_name='employee_requests')
    op.drop_table('employee_requests')
