"""Downloader with a local cache for the public Criteo sample."""

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from ._criteo import load_criteo

CRITEO_SAMPLE_URL = (
    "https://raw.githubusercontent.com/shenweichen/DeepCTR-Torch/master/examples/criteo_sample.txt"
)
CRITEO_SAMPLE_SHA256 = "08b84f12a22438fb534e989a5e4fa245726b2bda001983556bc2aea2f094f724"
_CRITEO_SAMPLE_FILE = Path("criteo_sample") / "criteo_sample.txt"
_TIMEOUT_S = 60


def get_data_home(data_home=None):
    """Return the path of the sklearn-deepfm data cache, creating the folder.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The cache folder. ``None`` takes the environment variable
        ``SKLEARN_DEEPFM_DATA`` if set, else ``~/sklearn_deepfm_data``.

    Returns
    -------
    data_home : pathlib.Path
        The cache folder, with ``~`` expanded.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     home = get_data_home(Path(tmp) / "cache")
    ...     print(home.name, home.is_dir())
    cache True
    """
    if data_home is None:
        data_home = os.environ.get("SKLEARN_DEEPFM_DATA", Path("~") / "sklearn_deepfm_data")
    data_home = Path(data_home).expanduser()
    data_home.mkdir(parents=True, exist_ok=True)
    return data_home


def fetch_criteo_sample(
    *, data_home=None, download_if_missing=True, categorical_dtype="str", return_X_y=False
):
    r"""Load the 200-row Criteo sample, downloading it on first use.

    The sample shipped with DeepCTR-Torch (``examples/criteo_sample.txt``): the
    Criteo display-ads format as CSV with a header, 200 rows, positive rate
    0.245. It is downloaded from :data:`CRITEO_SAMPLE_URL` once, checked
    against :data:`CRITEO_SAMPLE_SHA256` and kept in
    ``{data_home}/criteo_sample/criteo_sample.txt``. The data falls under
    Criteo's terms of use (research use, no redistribution).

    Parameters
    ----------
    data_home : str or path-like, default=None
        The cache folder; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        If False, raise an OSError when the file is not in the cache instead
        of downloading it.
    categorical_dtype : {"str", "category"}, default="str"
        Dtype of ``C1..C26``; see :func:`load_criteo`.
    return_X_y : bool, default=False
        If True, return ``(X, y)`` instead of one DataFrame.

    Returns
    -------
    frame : pandas.DataFrame of shape (200, 40)
        As returned by :func:`load_criteo`. Returned when ``return_X_y`` is
        False.
    (X, y) : tuple of (pandas.DataFrame, numpy.ndarray of int8)
        Returned when ``return_X_y`` is True.

    Raises
    ------
    OSError
        If the file is not cached and ``download_if_missing`` is False, or the
        download fails.
    ValueError
        If the downloaded file's SHA-256 differs from
        :data:`CRITEO_SAMPLE_SHA256`; the file is not kept.

    Examples
    --------
    Offline, with ``download_if_missing=False``, an empty cache raises, and a
    file put at the cache's path is read as it is (the checksum is checked on
    download only):

    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn_deepfm.datasets import CRITEO_COLUMNS
    >>> row = ["1", "5"] + [""] * 12 + ["68fd1e64"] * 26  # label, I1..I13, C1..C26
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     try:
    ...         fetch_criteo_sample(data_home=tmp, download_if_missing=False)
    ...     except OSError as error:
    ...         print(type(error).__name__)
    ...     cached = Path(tmp) / "criteo_sample" / "criteo_sample.txt"
    ...     cached.parent.mkdir()
    ...     _ = cached.write_text(",".join(CRITEO_COLUMNS) + "\n" + ",".join(row) + "\n")
    ...     X, y = fetch_criteo_sample(data_home=tmp, download_if_missing=False, return_X_y=True)
    OSError
    >>> X.shape, y.tolist()
    ((1, 39), [1])
    """
    path = get_data_home(data_home) / _CRITEO_SAMPLE_FILE
    if not path.exists():
        if not download_if_missing:
            raise OSError(
                f"The Criteo sample is not in the cache ({path}) and download_if_missing=False. "
                "Pass download_if_missing=True to download it."
            )
        _download(CRITEO_SAMPLE_URL, path, CRITEO_SAMPLE_SHA256)
    return load_criteo(path, categorical_dtype=categorical_dtype, return_X_y=return_X_y)


def _download(url, path, sha256):
    """Download ``url`` to ``path`` through a temporary file, checking its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
                    shutil.copyfileobj(response, out)
            except OSError as exc:
                raise OSError(
                    f"Could not download {url}: {exc}. Check the network connection, or put the "
                    f"file at {path} yourself."
                ) from exc
        digest = _sha256(tmp)
        if digest != sha256:
            raise ValueError(
                f"The file downloaded from {url} has SHA-256 {digest}, expected {sha256}; it "
                "was not kept. The file upstream may have changed; retry, or report it."
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
