"""`python -m collector.agent.site`: the agent's commands, as `punchgate-agent`."""

from collector.agent.site.cli import main

main()
