"""pay calendars, closed periods, frozen days and the adjustments to them

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pay_calendars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('start_day', sa.Integer(), nullable=False),
    sa.Column('anchor', sa.Date(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_pay_calendars_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pay_calendars')),
    sa.UniqueConstraint('code', name=op.f('uq_pay_calendars_code')),
    sa.UniqueConstraint('department_id', name=op.f('uq_pay_calendars_department_id'))
    )
    op.create_table('pay_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=False),
    sa.Column('closed_by', sa.String(length=200), nullable=False),
    sa.Column('overrides', sa.JSON(), nullable=False),
    sa.Column('employees', sa.Integer(), nullable=False),
    sa.Column('reopened_at', sa.DateTime(), nullable=True),
    sa.Column('reopened_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['calendar_id'], ['pay_calendars.id'], name=op.f('fk_pay_periods_calendar_id_pay_calendars')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pay_periods')),
    sa.UniqueConstraint('calendar_id', 'start', name=op.f('uq_pay_periods_calendar_id'))
    )
    op.create_table('closed_days',
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=True),
    sa.Column('punch_ids', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_closed_days_employee_id_employees')),
    sa.ForeignKeyConstraint(['period_id'], ['pay_periods.id'], name=op.f('fk_closed_days_period_id_pay_periods')),
    sa.PrimaryKeyConstraint('employee_id', 'local_date', name=op.f('pk_closed_days'))
    )
    op.create_index('ix_closed_days_period', 'closed_days', ['period_id'], unique=False)
    op.create_table('day_adjustments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('carried_period_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('delta', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['carried_period_id'], ['pay_periods.id'], name=op.f('fk_day_adjustments_carried_period_id_pay_periods')),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_day_adjustments_employee_id_employees')),
    sa.ForeignKeyConstraint(['period_id'], ['pay_periods.id'], name=op.f('fk_day_adjustments_period_id_pay_periods')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_day_adjustments'))
    )
    op.create_index('ix_day_adjustments_day', 'day_adjustments', ['employee_id', 'local_date'], unique=False)
    op.create_index('ix_day_adjustments_carried', 'day_adjustments', ['carried_period_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_day_adjustments_carried', table_name='day_adjustments')
    op.drop_index('ix_day_adjustments_day', table_name='day_adjustments')
    op.drop_table('day_adjustments')
    op.drop_index('ix_closed_days_period', table_name='closed_days')
    op.drop_table('closed_days')
    op.drop_table('pay_periods')
    op.drop_table('pay_calendars')
