"""initial schema

Revision ID: 0001
Revises: (none)
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_table('departments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['departments.id'], name=op.f('fk_departments_parent_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_departments')),
    sa.UniqueConstraint('code', name=op.f('uq_departments_code'))
    )
    op.create_table('policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policies')),
    sa.UniqueConstraint('name', name=op.f('uq_policies_name'))
    )
    op.create_table('quarantine',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dedupe_key', sa.String(length=32), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('source_kind', sa.String(length=16), nullable=False),
    sa.Column('device_code', sa.String(length=64), nullable=True),
    sa.Column('reference', sa.String(length=300), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('punch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantine')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_quarantine_dedupe_key'))
    )
    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('country', sa.String(length=8), nullable=True),
    sa.Column('subdivision', sa.String(length=16), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('radius_m', sa.Float(), nullable=True),
    sa.Column('polygon', sa.JSON(), nullable=True),
    sa.Column('fence', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('code', name=op.f('uq_sites_code'))
    )
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('secret_hash', sa.String(length=128), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_api_keys_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_keys_prefix'))
    )
    op.create_table('devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('direction_mode', sa.String(length=16), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('port', sa.Integer(), nullable=True),
    sa.Column('transport', sa.String(length=8), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=True),
    sa.Column('comm_key_secret', sa.Text(), nullable=True),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('firmware', sa.String(length=100), nullable=True),
    sa.Column('platform', sa.String(length=100), nullable=True),
    sa.Column('record_count', sa.Integer(), nullable=True),
    sa.Column('record_capacity', sa.Integer(), nullable=True),
    sa.Column('user_count', sa.Integer(), nullable=True),
    sa.Column('clock_skew_s', sa.Float(), nullable=True),
    sa.Column('sync_state', sa.JSON(), nullable=False),
    sa.Column('last_sync_at', sa.DateTime(), nullable=True),
    sa.Column('reported_until', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_devices_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('code', name=op.f('uq_devices_code')),
    sa.UniqueConstraint('serial', name=op.f('uq_devices_serial'))
    )
    op.create_table('employees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('active_from', sa.Date(), nullable=True),
    sa.Column('active_to', sa.Date(), nullable=True),
    sa.Column('identities', sa.JSON(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_employees_department_id_departments')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_employees_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employees')),
    sa.UniqueConstraint('code', name=op.f('uq_employees_code'))
    )
    op.create_table('attendance_days',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('first_in', sa.DateTime(), nullable=True),
    sa.Column('last_out', sa.DateTime(), nullable=True),
    sa.Column('worked_s', sa.Integer(), nullable=False),
    sa.Column('break_s', sa.Integer(), nullable=False),
    sa.Column('late_s', sa.Integer(), nullable=False),
    sa.Column('early_leave_s', sa.Integer(), nullable=False),
    sa.Column('overtime', sa.JSON(), nullable=False),
    sa.Column('balance_delta_s', sa.Integer(), nullable=False),
    sa.Column('anomalies', sa.JSON(), nullable=False),
    sa.Column('explanation', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_attendance_days_employee_id_employees')),
    sa.ForeignKeyConstraint(['policy_id'], ['policies.id'], name=op.f('fk_attendance_days_policy_id_policies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_days')),
    sa.UniqueConstraint('employee_id', 'local_date', name=op.f('uq_attendance_days_employee_id'))
    )
    with op.batch_alter_table('attendance_days', schema=None) as batch_op:
        batch_op.create_index('ix_attendance_days_date', ['local_date'], unique=False)

    op.create_table('dirty_days',
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_dirty_days_employee_id_employees')),
    sa.PrimaryKeyConstraint('employee_id', 'local_date', name=op.f('pk_dirty_days'))
    )
    op.create_table('policy_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_policy_assignments_employee_id_employees')),
    sa.ForeignKeyConstraint(['policy_id'], ['policies.id'], name=op.f('fk_policy_assignments_policy_id_policies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_assignments')),
    sa.UniqueConstraint('employee_id', 'effective_from', name=op.f('uq_policy_assignments_employee_id'))
    )
    op.create_table('punches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dedupe_key', sa.String(length=32), nullable=False),
    sa.Column('employee_code', sa.String(length=64), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('tz', sa.String(length=64), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('source_kind', sa.String(length=16), nullable=False),
    sa.Column('device_code', sa.String(length=64), nullable=True),
    sa.Column('verify', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('site_code', sa.String(length=64), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('geo_decision', sa.String(length=32), nullable=True),
    sa.Column('flags', sa.Integer(), nullable=False),
    sa.Column('source_ref', sa.String(length=200), nullable=True),
    sa.Column('voids_punch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_punches_employee_id_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_punches')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_punches_dedupe_key'))
    )
    with op.batch_alter_table('punches', schema=None) as batch_op:
        batch_op.create_index('ix_punches_employee_time', ['employee_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_punches_occurred_at', ['occurred_at'], unique=False)
        batch_op.create_index('ix_punches_unlinked_code', ['employee_code'], unique=False, sqlite_where=sa.text('employee_id IS NULL'), postgresql_where=sa.text('employee_id IS NULL'))




def downgrade() -> None:

    with op.batch_alter_table('punches', schema=None) as batch_op:
        batch_op.drop_index('ix_punches_unlinked_code', sqlite_where=sa.text('employee_id IS NULL'), postgresql_where=sa.text('employee_id IS NULL'))
        batch_op.drop_index('ix_punches_occurred_at')
        batch_op.drop_index('ix_punches_employee_time')

    op.drop_table('punches')
    op.drop_table('policy_assignments')
    op.drop_table('dirty_days')
    with op.batch_alter_table('attendance_days', schema=None) as batch_op:
        batch_op.drop_index('ix_attendance_days_date')

    op.drop_table('attendance_days')
    op.drop_table('employees')
    op.drop_table('devices')
    op.drop_table('api_keys')
    op.drop_table('sites')
    op.drop_table('quarantine')
    op.drop_table('policies')
    op.drop_table('departments')
    op.drop_table('audit_log')

