"""Starting, stopping and watching the applications of the configuration database.

Each application says how in the configuration database: the local adapter runs its start
command line in the background (:mod:`.local`), the command adapter runs configured start,
stop and status command lines (:mod:`.command`). :mod:`.control` picks the adapter, probes
health (:mod:`.health`) and waits for a state.
"""
