"""Site agents: the central side (enrolment, config push, batch handoff) and `site/`, the agent."""
