"""Business rules, one package per capability. Plain functions over models: no request, no blueprint,
no RQ, no environment.

The capabilities (`accounts`, `archives`, `campaigns`, `cases`, `certification`, `demo`, `evaluation`,
`events`, `files`, `messaging`, `org`) stand on a small shared kernel at this level: `clock` (service
time), `errors` (typed domain errors), `audit`, `inputs` (values from outside made safe), `paging`
and `pii`. Domain functions own their transaction: they flush what they write and the caller (an
edge) commits once, or the domain function commits itself when it says so in its docstring.
"""
