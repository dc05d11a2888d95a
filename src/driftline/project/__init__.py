"""A user's own Driftline project: written by `driftline init`, checked by `driftline check`.

May import everything below the CLI; nothing but the CLI imports it.
"""
