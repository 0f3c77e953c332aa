"""the outbox: targets (webhooks, connectors), one message per event and target, the delivery log

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'outbound_targets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('secrets', sa.JSON(), nullable=False),
        sa.Column('config', sa.JSON(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('disabled_reason', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_targets')),
        sa.UniqueConstraint('name', name=op.f('uq_outbound_targets_name')),
    )
    op.create_table(
        'outbox',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('msg_id', sa.String(length=40), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('event_type', sa.String(length=40), nullable=False),
        sa.Column('payload', sa.Text(), nullable=True),
        sa.Column('ref_id', BIG_ID, nullable=True),
        sa.Column('subject', sa.String(length=64), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('last_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('delivered_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['target_id'], ['outbound_targets.id'],
            name=op.f('fk_outbox_target_id_outbound_targets'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    )
    op.create_index(
        'ix_outbox_due', 'outbox', ['next_attempt_at'], unique=False,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        'ix_outbox_target_unsent', 'outbox', ['target_id', 'id'], unique=False,
        sqlite_where=sa.text("status IN ('failed', 'rejected')"),
        postgresql_where=sa.text("status IN ('failed', 'rejected')"),
    )
    op.create_table(
        'outbox_attempts',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('message_id', BIG_ID, nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('code', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['message_id'], ['outbox.id'], name=op.f('fk_outbox_attempts_message_id_outbox')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_attempts')),
    )
    op.create_index('ix_outbox_attempts_message', 'outbox_attempts', ['message_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_attempts_message', table_name='outbox_attempts')
    op.drop_table('outbox_attempts')
    op.drop_index('ix_outbox_target_unsent', table_name='outbox')
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('outbound_targets')
