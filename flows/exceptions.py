class FlowError(ValueError):
    """A value in ``flows/`` that the service cannot run with, named by file and key."""
