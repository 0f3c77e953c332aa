"""quarantine rows know their origin and how many bad inputs they stand for

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column('input_count', sa.Integer(), server_default='1', nullable=False)
        )
        batch_op.add_column(sa.Column('raw_size', sa.BigInteger(), nullable=True))
    # Phones are known by their topic (kept as the reference), terminals by their code.
    op.execute(
        "UPDATE quarantine SET origin = CASE WHEN source_kind = 'mobile' THEN reference"
        " ELSE device_code END"
    )
    op.create_index(
        'ix_quarantine_origin', 'quarantine', ['source_kind', 'origin', 'received_at'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_quarantine_origin', table_name='quarantine')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_column('raw_size')
        batch_op.drop_column('input_count')
        batch_op.drop_column('origin')
