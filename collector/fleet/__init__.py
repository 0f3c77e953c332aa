"""Several collectors on one database: roles, node heartbeats, terminal and job leases."""

from collector.fleet.leases import JOB_DAYS_CLOSE, JOB_RETENTION, FleetMember, terminal_key
from collector.fleet.roles import ALL_ROLES, Role, parse_roles

__all__ = [
    "ALL_ROLES",
    "JOB_DAYS_CLOSE",
    "JOB_RETENTION",
    "FleetMember",
    "Role",
    "parse_roles",
    "terminal_key",
]
