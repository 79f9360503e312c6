"""The version of sklearn-deepfm, in a module of its own so that the package can read it."""

__version__ = "0.5.0"
