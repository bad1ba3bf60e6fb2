"""The error hierarchy. Every message says what was expected, what came, and what to do."""

from __future__ import annotations


class ParfaceError(Exception):
    """Base class of every error parface-sdk raises on purpose."""


class InvalidImageError(ParfaceError, ValueError):
    """The image is empty, corrupt, unreadable, or has an unsupported dtype or shape."""


class InvalidOptionError(ParfaceError, ValueError):
    """An option or argument has a value outside the accepted set (a colour order, a detector name)."""


class UnsupportedPrecisionError(InvalidOptionError):
    """The backend cannot run the network in the requested ``precision`` (raised at creation)."""


class AlignerClosedError(ParfaceError, RuntimeError):
    """The Aligner was used after ``close()`` (or after its ``with`` block ended)."""


class UnsupportedShapeError(ParfaceError, ValueError):
    """An array argument (boxes, landmarks, batch) has the wrong shape or dtype."""


class BoxOutsideImageError(UnsupportedShapeError):
    """A caller box does not overlap the image at all (no face can be there)."""


class ModelLoadError(ParfaceError):
    """A model file is missing, corrupt, foreign, or does not match its spec."""


class ModelNotFoundError(ModelLoadError, FileNotFoundError):
    """No model file where one was expected."""


class BackendUnavailableError(ParfaceError, ImportError):
    """The runtime a backend needs is not installed or cannot run on this machine."""


class DetectorUnavailableError(ParfaceError):
    """The requested face detector cannot run here (missing model file or package)."""


class EngineMismatchError(ModelLoadError):
    """A TensorRT engine was built for another GPU or TensorRT version."""


class VideoError(ParfaceError):
    """A video cannot be opened or read."""
