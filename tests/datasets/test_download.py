"""fetch_criteo_sample's download, checksum and cache, and get_data_home."""

import hashlib

import pytest
from reader_cases import CRITEO_SAMPLE, ROW, shared

from sklearn_deepfm.datasets import CRITEO_COLUMNS, _fetch, fetch_criteo_sample, get_data_home

CRITEO_SAMPLE_SHA256 = "08b84f12a22438fb534e989a5e4fa245726b2bda001983556bc2aea2f094f724"


# --- fetch_criteo_sample ---------------------------------------------------------------------


@pytest.fixture
def sample_url(monkeypatch):
    """Point the downloader at the shared sample through a file:// URL."""
    url = shared(CRITEO_SAMPLE).as_uri()
    monkeypatch.setattr(_fetch, "CRITEO_SAMPLE_URL", url)
    return url


def test_fetch_criteo_sample_downloads_then_uses_the_cache(tmp_path, sample_url, monkeypatch):
    X, y = fetch_criteo_sample(data_home=tmp_path, return_X_y=True)
    assert X.shape == (200, 39) and y.mean() == pytest.approx(0.245)
    cached = tmp_path / "criteo_sample" / "criteo_sample.txt"
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == CRITEO_SAMPLE_SHA256
    assert [p.name for p in cached.parent.iterdir()] == ["criteo_sample.txt"]

    def no_download(*args, **kwargs):
        raise AssertionError("the cached file should have been used")

    monkeypatch.setattr(_fetch.urllib.request, "urlopen", no_download)
    frame = fetch_criteo_sample(data_home=tmp_path, download_if_missing=False)
    assert frame.shape == (200, 40)


def test_fetch_criteo_sample_checksum_mismatch(tmp_path, monkeypatch):
    tampered = tmp_path / "tampered.txt"
    tampered.write_text(",".join(CRITEO_COLUMNS) + "\n" + ",".join(ROW) + "\n")
    monkeypatch.setattr(_fetch, "CRITEO_SAMPLE_URL", tampered.as_uri())
    home = tmp_path / "home"
    with pytest.raises(ValueError, match="SHA-256 [0-9a-f]{64}, expected 08b84f12"):
        fetch_criteo_sample(data_home=home)
    assert list((home / "criteo_sample").iterdir()) == []


def test_fetch_criteo_sample_missing_without_download(tmp_path):
    with pytest.raises(OSError, match="not in the cache.*download_if_missing=False"):
        fetch_criteo_sample(data_home=tmp_path, download_if_missing=False)


def test_fetch_criteo_sample_download_error(tmp_path, monkeypatch):
    monkeypatch.setattr(_fetch, "CRITEO_SAMPLE_URL", (tmp_path / "absent.txt").as_uri())
    with pytest.raises(OSError, match="Could not download file://.*absent.txt"):
        fetch_criteo_sample(data_home=tmp_path / "home")
    assert list((tmp_path / "home" / "criteo_sample").iterdir()) == []


def test_get_data_home_env_var_and_default(tmp_path, monkeypatch):
    monkeypatch.setenv("SKLEARN_DEEPFM_DATA", str(tmp_path / "from_env"))
    assert get_data_home() == tmp_path / "from_env"
    assert get_data_home(tmp_path / "explicit") == tmp_path / "explicit"
    assert (tmp_path / "explicit").is_dir()
    monkeypatch.delenv("SKLEARN_DEEPFM_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home() == tmp_path / "sklearn_deepfm_data"
