"""The HR API, web pages and the endpoints push-mode terminals call."""
