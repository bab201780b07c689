"""Model files build only trusted types: crafted payloads are refused before they run,
every catalogue blueprint and forecasting candidate round-trips without consent."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest

import segmenter as sg
from segmenter import persistence
from segmenter.errors import UntrustedModelError


def _write(path, payload: bytes):
    header = json.dumps(persistence._header(object(), payload)).encode()
    path.write_bytes(persistence.MAGIC + header + b"\n" + payload)
    return path


class _Touch:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.path),))


class _System:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.path}",))


class _ViaGetattr:
    """Reaches ndarray.tofile (which writes a file) through getattr on a trusted class."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (_Call, (np.ndarray.tofile, np.zeros(1), self.path))


def _Call(fn, *args):  # noqa: N802 - stands for a REDUCE with any callable
    return fn(*args)


@pytest.mark.parametrize("evil", [_Touch, _System, _ViaGetattr])
def test_a_crafted_model_file_is_refused_and_never_runs(tmp_path, evil):
    marker = tmp_path / "marker"
    payload = pickle.dumps(
        {"model": evil(str(marker))}, protocol=pickle.HIGHEST_PROTOCOL
    )
    path = _write(tmp_path / "evil.segmenter", payload)
    with pytest.raises(UntrustedModelError) as exc:
        sg.load(path)
    assert exc.value.names and "trusted=" in str(exc.value)
    assert not marker.exists()


def test_getattr_to_a_method_of_a_trusted_class_is_refused_when_called(tmp_path):
    marker = tmp_path / "marker"
    # only getattr itself is named: the scan passes it, the call is checked
    payload = (
        b"\x80\x05cbuiltins\ngetattr\ncnumpy\nndarray\nX\x06\x00\x00\x00tofile\x86R."
    )
    path = _write(tmp_path / "g.segmenter", payload)
    with pytest.raises(
        UntrustedModelError, match="getattr\\(numpy.ndarray, 'tofile'\\)"
    ):
        sg.load(path)
    assert not marker.exists()


def test_user_types_need_consent(tmp_path):
    from segmenter.clustering.blueprints import Blueprint

    df = __import__("conftest").planted_frame(n_per=6)[0]
    seg = sg.Segmenter(
        n_clusters=[3],
        progress=False,
        blueprints=[Blueprint.from_estimator("mine", _MyKMeans())],
    ).fit(df)
    path = seg.save(tmp_path / "m.segmenter")
    with pytest.raises(UntrustedModelError) as exc:
        sg.load(path)
    name = f"{_MyKMeans.__module__}._MyKMeans"
    assert name in exc.value.names
    back = sg.load(path, trusted=[_MyKMeans])
    assert back.mapping_ == seg.mapping_
    assert sg.load(path, trusted=[name]).mapping_ == seg.mapping_
    assert sg.load(path, trusted=True).mapping_ == seg.mapping_


from sklearn.cluster import KMeans  # noqa: E402


class _MyKMeans(KMeans):
    """A user's own clusterer (a subclass outside the trusted packages)."""

    def __init__(self, n_clusters=3, n_init=2, random_state=None):
        super().__init__(
            n_clusters=n_clusters, n_init=n_init, random_state=random_state
        )


def test_every_catalogue_blueprint_round_trips_without_consent(tmp_path):
    from segmenter.clustering.blueprints import CATALOGUE, make_blueprint

    df, _ = __import__("conftest").planted_frame(n_per=6, length=30)
    panel = sg.read_panel(df)
    for name in CATALOGUE:
        if name == "softdtw_kmeans":
            continue  # tslearn's estimator: a slow test below
        bp = make_blueprint(name)
        fitted = bp.fit(panel, None if bp.picks_k else 3, random_state=0)
        path = persistence.save(fitted, tmp_path / f"{name}.bin")
        back = sg.load(path)
        np.testing.assert_array_equal(back.predict(panel), fitted.predict(panel))


@pytest.mark.slow
def test_soft_dtw_blueprint_round_trips(tmp_path):
    from segmenter.clustering.blueprints import make_blueprint

    df, _ = __import__("conftest").planted_frame(n_per=4, length=20)
    panel = sg.read_panel(df)
    fitted = make_blueprint("softdtw_kmeans").fit(panel, 3, random_state=0)
    back = sg.load(persistence.save(fitted, tmp_path / "s.bin"))
    np.testing.assert_array_equal(back.predict(panel), fitted.predict(panel))


def test_every_forecasting_candidate_round_trips_without_consent(tmp_path):
    from segmenter.forecasting import FORECASTERS

    rng = np.random.default_rng(0)
    t = np.arange(60)
    df = pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": f"s{i}",
                    "ds": t + 1,
                    "y": 20
                    + 5 * np.sin(2 * np.pi * t / 12)
                    + rng.normal(0, 1, 60)
                    + (rng.random(60) < 0.2) * 0,
                }
            )
            for i in range(6)
        ],
        ignore_index=True,
    )
    mapping = sg.SegmentMapping(
        pd.DataFrame({"unique_id": [f"s{i}" for i in range(6)], "segment": 0}),
        "unique_id",
    )
    specs = [s for s in FORECASTERS if s not in ("pooled_gbm", "combo")] + [
        "combo(k=2)"
    ]
    fc = sg.SegmentedForecaster(
        horizon=4,
        candidates=specs,
        season_length=12,
        n_jobs=1,
        progress=False,
        compare=False,
        intermittent=True,
    )
    fc.fit(df, mapping=mapping)
    for spec in specs:
        fc.set_champion(0, spec)
        back = sg.load(fc.save(tmp_path / "fc.segmenter"))
        pd.testing.assert_frame_equal(
            back.predict(df, level=[80]), fc.predict(df, level=[80])
        )
        assert back.champions_[0] == spec
