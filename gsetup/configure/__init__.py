"""The guide's manual configuration steps as plannable, idempotent operations.

One module per step. Each step reads what it needs of the tenant (:mod:`.snapshot`), checks
its inputs, builds a :class:`~gsetup.state.DesiredState` and hands it to
:func:`gsetup.plan.run.run_plan`, so every step has ``--dry-run``, ``--json``,
``--detailed-exitcode`` and one atomic transaction. ``gsetup doctor``
(:mod:`gsetup.commands.doctor`) reads the same facts to say which step is still missing.
"""
