"""Push-mode terminals (ZKTeco ADMS/iclock): who they are, what they upload, their commands."""
