"""fleet: node heartbeats and lease rows (terminals, singleton jobs)

Revision ID: 0018
Revises: 0015
"""

from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fleet_nodes',
    sa.Column('node_id', sa.String(length=120), nullable=False),
    sa.Column('host', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('roles', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('node_id', name=op.f('pk_fleet_nodes'))
    )
    op.create_table('leases',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('owner', sa.String(length=120), nullable=False),
    sa.Column('acquired_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_leases'))
    )
    op.create_index('ix_leases_owner', 'leases', ['owner'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_leases_owner', table_name='leases')
    op.drop_table('leases')
    op.drop_table('fleet_nodes')
