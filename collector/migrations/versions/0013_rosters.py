"""rosters: shift types, patterns, their assignments and explicit roster days

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shift_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_types")),
        sa.UniqueConstraint("code", name=op.f("uq_shift_types_code")),
    )
    op.create_table(
        "shift_patterns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("anchor", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_patterns")),
        sa.UniqueConstraint("name", name=op.f("uq_shift_patterns_name")),
    )
    op.create_table(
        "roster_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pattern_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pattern_id"],
            ["shift_patterns.id"],
            name=op.f("fk_roster_assignments_pattern_id_shift_patterns"),
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.id"],
            name=op.f("fk_roster_assignments_employee_id_employees"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_roster_assignments_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_assignments")),
    )
    op.create_index("ix_roster_assignments_employee", "roster_assignments", ["employee_id"])
    op.create_index("ix_roster_assignments_department", "roster_assignments", ["department_id"])
    op.create_table(
        "roster_days",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employees.id"], name=op.f("fk_roster_days_employee_id_employees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_days")),
        sa.UniqueConstraint("employee_id", "local_date", name=op.f("uq_roster_days_employee_id")),
    )


def downgrade() -> None:
    op.drop_table("roster_days")
    op.drop_index("ix_roster_assignments_department", table_name="roster_assignments")
    op.drop_index("ix_roster_assignments_employee", table_name="roster_assignments")
    op.drop_table("roster_assignments")
    op.drop_table("shift_patterns")
    op.drop_table("shift_types")
