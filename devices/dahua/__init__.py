"""Dahua access controllers over their HTTP CGI API."""
