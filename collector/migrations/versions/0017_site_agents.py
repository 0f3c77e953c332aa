"""site agents: enrolment and credential hashes, health, their terminals, committed batch ids

Revision ID: 0017
Revises: 0015
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('site_agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('enrol_token_hash', sa.String(length=64), nullable=True),
    sa.Column('enrol_expires_at', sa.DateTime(), nullable=True),
    sa.Column('credential_hash', sa.String(length=64), nullable=True),
    sa.Column('enrolled_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by', sa.String(length=200), nullable=True),
    sa.Column('version', sa.String(length=64), nullable=True),
    sa.Column('hostname', sa.String(length=200), nullable=True),
    sa.Column('last_contact_at', sa.DateTime(), nullable=True),
    sa.Column('clock_skew_s', sa.Float(), nullable=True),
    sa.Column('buffer_depth', sa.BigInteger(), nullable=True),
    sa.Column('buffer_capacity', sa.BigInteger(), nullable=True),
    sa.Column('oldest_buffered_at', sa.DateTime(), nullable=True),
    sa.Column('warning', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_agents')),
    sa.UniqueConstraint('code', name=op.f('uq_site_agents_code')),
    sa.UniqueConstraint('credential_hash', name=op.f('uq_site_agents_credential_hash')),
    sa.UniqueConstraint('enrol_token_hash', name=op.f('uq_site_agents_enrol_token_hash'))
    )
    op.create_table('site_agent_terminals',
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['site_agents.id'], name=op.f('fk_site_agent_terminals_agent_id_site_agents')),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_site_agent_terminals_device_id_devices')),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_site_agent_terminals'))
    )
    op.create_index('ix_site_agent_terminals_agent', 'site_agent_terminals', ['agent_id'], unique=False)
    op.create_table('site_agent_batches',
    sa.Column('batch_id', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('committed_at', sa.DateTime(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('inserted', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('quarantined', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['site_agents.id'], name=op.f('fk_site_agent_batches_agent_id_site_agents')),
    sa.PrimaryKeyConstraint('batch_id', name=op.f('pk_site_agent_batches'))
    )
    op.create_index('ix_site_agent_batches_committed', 'site_agent_batches', ['committed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_site_agent_batches_committed', table_name='site_agent_batches')
    op.drop_table('site_agent_batches')
    op.drop_index('ix_site_agent_terminals_agent', table_name='site_agent_terminals')
    op.drop_table('site_agent_terminals')
    op.drop_table('site_agents')
