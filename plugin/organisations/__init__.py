"""Organisations (agencies): the tenants that share one deployment of the tool."""
