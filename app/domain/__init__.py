"""Business rules, one module per capability. Plain functions over models: no request, no blueprint.

Domain functions own their transaction: they flush what they write and the caller (an edge)
commits once, or the domain function commits itself when it says so in its docstring.
"""
