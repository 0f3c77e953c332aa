"""push terminals: command queue and per-terminal roster

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('push_commands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('command', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('return_code', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_push_commands_device_id_devices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_commands'))
    )
    op.create_index('ix_push_commands_device_status', 'push_commands', ['device_id', 'status'], unique=False)
    op.create_table('push_roster',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('pin', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('privilege', sa.Integer(), nullable=False),
    sa.Column('card', sa.String(length=64), nullable=False),
    sa.Column('grp', sa.String(length=16), nullable=False),
    sa.Column('has_password', sa.Boolean(), nullable=False),
    sa.Column('templates', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_push_roster_device_id_devices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_roster')),
    sa.UniqueConstraint('device_id', 'pin', name=op.f('uq_push_roster_device_id'))
    )


def downgrade() -> None:
    op.drop_table('push_roster')
    op.drop_index('ix_push_commands_device_status', table_name='push_commands')
    op.drop_table('push_commands')
