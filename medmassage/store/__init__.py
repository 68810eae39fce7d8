"""The database file and what keeps it safe: the connection and its settings, migrations,
transactions, the keyed audit chain and record digests, `db check`, backup and restore,
encryption, and the files written for the user. Knows tables, not clinical meaning; imports
nothing from record/, documents/, exchange/ or cli/.
"""
