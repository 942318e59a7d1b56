"""Named errors of deepspin. Both subclass the built-in type a caller would catch anyway."""


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot run here (not built, no device, missing package)."""


class DatasetError(ValueError):
    """A dataset file is truncated, foreign, of an unknown schema, or fails its checksum."""


class LongComputationWarning(UserWarning):
    """A call is predicted to run for longer than an hour (issued before it starts)."""


class EquilibrationWarning(UserWarning):
    """Monte Carlo chains fail the equilibration diagnostics (R-hat or autocorrelation time): their records may be wrong."""
