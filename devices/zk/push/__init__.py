"""The ZKTeco push protocol (ADMS/iclock over HTTP): body parsers, wire formats, a simulator."""
