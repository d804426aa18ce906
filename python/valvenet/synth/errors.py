"""The one exception type of the dataset builder, so the CLI can report it in one line."""


class SynthError(RuntimeError):
    """A dataset build step failed in a way the user can fix (missing package, bad option, ...)."""
