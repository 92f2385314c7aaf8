"""Flask CLI commands (`flask --app app <command>`): edges like routes, thin over the domain.

Every module here that defines `commands` (a list of click commands) is registered.
"""
