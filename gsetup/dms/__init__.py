"""A Digital Messaging Server stand-in: something real to start, stop, switch over and upgrade.

``gsetup dms run --app APP`` serves, on the application's host and port (loopback only):
its health (role, drivers and versions), inbound interactions (accepted only while primary
and healthy, spooled durably and forwarded in order to the routing runtime's intake),
switchover between the pair, and the runtime's outbound dispatches. docs/upgrades.md
documents the routes.
"""
