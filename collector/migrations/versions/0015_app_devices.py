"""the punch app: one-time enrolment links and the phones they bound, both kept as hashes

Revision ID: 0015
Revises: 0014
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_app_enrolments_employee_id_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_enrolments')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_app_enrolments_code_hash'))
    )
    op.create_index('ix_app_enrolments_employee', 'app_enrolments', ['employee_id'], unique=False)
    op.create_table('app_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_app_devices_employee_id_employees')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['app_enrolments.id'], name=op.f('fk_app_devices_enrolment_id_app_enrolments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_devices')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_app_devices_token_hash'))
    )
    op.create_index('ix_app_devices_employee', 'app_devices', ['employee_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_app_devices_employee', table_name='app_devices')
    op.drop_table('app_devices')
    op.drop_index('ix_app_enrolments_employee', table_name='app_enrolments')
    op.drop_table('app_enrolments')
