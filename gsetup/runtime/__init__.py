"""The routing runtime: runs the installed Business Processes' strategies on a store.

Layers, top to bottom: :mod:`api` (the in-process contract the HTTP layer and tests use),
:mod:`engine` (one loop turn: claim, interpret, commit), :mod:`interpreter` (blocks,
functions, services), :mod:`agents`, :mod:`outbox`, :mod:`store` and :mod:`schema`.
Configuration is read through :mod:`config` only. Nothing here imports the CLI.
"""
