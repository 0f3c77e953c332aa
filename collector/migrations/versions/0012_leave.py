"""leave entries and yearly leave quotas; a day's status may be leave:<type>

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'leaves',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('leave_type', sa.String(length=32), nullable=False),
        sa.Column('start_date', sa.Date(), nullable=False),
        sa.Column('end_date', sa.Date(), nullable=False),
        sa.Column('part', sa.String(length=8), nullable=False),
        sa.Column('start_time', sa.String(length=5), nullable=False),
        sa.Column('end_time', sa.String(length=5), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['employee_id'], ['employees.id'], name=op.f('fk_leaves_employee_id_employees')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_leaves')),
        sa.UniqueConstraint(
            'employee_id', 'start_date', 'leave_type', 'part', 'start_time',
            name=op.f('uq_leaves_employee_id'),
        ),
    )
    op.create_index(
        'ix_leaves_employee_dates', 'leaves', ['employee_id', 'start_date', 'end_date']
    )
    op.create_table(
        'leave_quotas',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('leave_type', sa.String(length=32), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('days', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ['employee_id'], ['employees.id'], name=op.f('fk_leave_quotas_employee_id_employees')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_leave_quotas')),
        sa.UniqueConstraint(
            'employee_id', 'leave_type', 'year', name=op.f('uq_leave_quotas_employee_id')
        ),
    )
    with op.batch_alter_table('attendance_days', schema=None) as batch_op:
        batch_op.alter_column(
            'status', existing_type=sa.String(length=16), type_=sa.String(length=32)
        )


def downgrade() -> None:
    with op.batch_alter_table('attendance_days', schema=None) as batch_op:
        batch_op.alter_column(
            'status', existing_type=sa.String(length=32), type_=sa.String(length=16)
        )
    op.drop_table('leave_quotas')
    op.drop_index('ix_leaves_employee_dates', table_name='leaves')
    op.drop_table('leaves')
