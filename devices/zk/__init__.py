"""ZKTeco terminals: the binary protocol (pull) and the push protocol (iclock)."""
