"""Click subcommands of ``nps-id``, one module per command; shared options in :mod:`.options`."""
