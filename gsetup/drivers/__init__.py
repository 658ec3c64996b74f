"""Genesys Cloud API drivers for Digital Messaging Server (DMS): Facebook and Twitter.

The database-independent parts: the channel options each driver reads (:mod:`.specs`), the
option files a driver ships (:mod:`.optionfile`), driver packages and their installation into
a DMS working directory (:mod:`.package`) and the legal terms to accept first (:mod:`.terms`).
"""
