"""The ``inference-exp`` command line: predict, describe, env, cache (see ``inference-exp --help``)."""
