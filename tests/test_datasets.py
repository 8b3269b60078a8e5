import numpy as np
import pytest

from descent.labs.mlp.datasets import CLASSES, DATASETS, EXTENT, FEATURES, SAMPLES, dataset_names, featurize, generate, grid


@pytest.mark.parametrize("name", DATASETS.names())
def test_shapes_and_labels(name: str) -> None:
    problem = DATASETS[name].meta["problem"]
    xy, label = generate(name, noise=0.0, seed=0)
    assert xy.shape == (SAMPLES[problem], 2) and label.shape == (SAMPLES[problem],)
    assert xy.dtype == np.float32 and label.dtype == np.float32
    if problem == "classification":
        assert set(np.unique(label)) == {-1.0, 1.0}
        assert 0.3 < (label > 0).mean() < 0.7  # both classes well represented
    elif problem == "multiclass":
        assert set(np.unique(label)) == {0.0, 1.0, 2.0}  # the default 3 classes
    else:  # TensorFlow Playground's targets: plane's (x1 + x2) / 10 is unclamped
        assert label.min() >= -1.2 and label.max() <= 1.2 and label.std() > 0.1


@pytest.mark.parametrize("name", DATASETS.names())
def test_same_seed_same_data(name: str) -> None:
    a, la = generate(name, noise=0.2, seed=7)
    b, lb = generate(name, noise=0.2, seed=7)
    c, _ = generate(name, noise=0.2, seed=8)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", dataset_names("multiclass"))
@pytest.mark.parametrize("classes", range(CLASSES[0], CLASSES[1] + 1))
def test_multiclass_data_has_every_class_balanced(name: str, classes: int) -> None:
    xy, label = generate(name, noise=0.1, seed=5, classes=classes)
    assert xy.shape == (SAMPLES["multiclass"], 2)
    counts = np.bincount(label.astype(int))
    assert len(counts) == classes and (counts == SAMPLES["multiclass"] // classes).all()  # k classes, equal shares
    assert np.array_equal(label, label.round())  # class indices
    assert (np.abs(xy) < EXTENT).all(1).mean() > 0.99  # on the plane (a Gaussian tail may stray)
    again, label_again = generate(name, noise=0.1, seed=5, classes=classes)
    np.testing.assert_array_equal(xy, again)
    np.testing.assert_array_equal(label, label_again)


def test_binary_datasets_ignore_the_class_count() -> None:
    a, la = generate("spiral", noise=0.1, seed=4)
    b, lb = generate("spiral", noise=0.1, seed=4, classes=6)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)


def test_blobs_sit_around_a_circle_and_noise_widens_them() -> None:
    xy, label = generate("blobs", noise=0.0, seed=1, classes=4)
    centres = np.stack([xy[label == c].mean(0) for c in range(4)])
    np.testing.assert_allclose(np.hypot(centres[:, 0], centres[:, 1]), 3.5, atol=0.2)
    angles = np.sort(np.arctan2(centres[:, 1], centres[:, 0]))
    np.testing.assert_allclose(np.diff(angles), np.pi / 2, atol=0.1)  # evenly spaced
    wide, _ = generate("blobs", noise=0.3, seed=1, classes=4)
    assert xy[label == 0].std(0).mean() < 0.5 * wide[label == 0].std(0).mean()


def test_spiral_arms_wind_out_from_the_centre() -> None:
    xy, label = generate("spirals", noise=0.0, seed=1, classes=3)
    for c in range(3):
        arm = xy[label == c]
        r = np.hypot(arm[:, 0], arm[:, 1])
        assert r.min() < 1 and r.max() > 4.5
    noisy, _ = generate("spirals", noise=0.3, seed=1, classes=3)
    assert 0 < np.abs(noisy - xy).max() <= 0.3 + 1e-6  # jitter of at most the noise


def test_noise_moves_spiral_and_gauss_points_as_tensorflow_playground_does() -> None:
    clean, label = generate("spiral", noise=0.0, seed=1)
    noisy, noisy_label = generate("spiral", noise=0.5, seed=1)
    np.testing.assert_array_equal(label, noisy_label)  # labels kept, points moved
    assert 0 < np.abs(noisy - clean).max() <= 0.5 + 1e-6
    for noise, variance in ((0.0, 0.5), (0.5, 4.0)):  # TFP: variance 0.5 .. 4 over noise 0 .. 0.5
        xy, label = DATASETS["gauss"].fn(100_000, noise, np.random.default_rng(2))
        centred = xy - np.where(label[:, None] > 0, 2.0, -2.0)
        np.testing.assert_allclose(centred.var(0), variance, rtol=0.03)


# ---- TensorFlow Playground's label noise ------------------------------------------------


def circle_mislabel_rate(noise: float, k: int = 48) -> float:
    """The share of circle points TensorFlow Playground's generator mislabels, by
    quadrature over its draws: half the points at radius U(0, 2.5), half at U(3.5, 5),
    angle U(0, 2 pi), labelled by whether the point shifted by U(-5 noise, 5 noise)^2
    lies within radius 2.5."""
    u = (np.arange(k) + 0.5) / k
    shift = (2 * u - 1) * 5 * noise
    rates = []
    for lo, hi, inside in ((0.0, 2.5, True), (3.5, 5.0, False)):
        r, a, sx, sy = np.meshgrid(lo + (hi - lo) * u, 2 * np.pi * u, shift, shift, indexing="ij", sparse=True)
        rates.append(((np.hypot(r * np.sin(a) + sx, r * np.cos(a) + sy) < 2.5) != inside).mean())
    return float(np.mean(rates))


def xor_mislabel_rate(noise: float) -> float:
    """The same for xor, exactly: |x| ~ U(0.3, 5.3) changes sign under a shift U(-5 noise,
    5 noise) with probability q (opposite sign, longer); the label flips if one coordinate does."""
    w = 5 * noise
    q = 0.5 * (w - 0.3) ** 2 / (2 * w * 5)
    return 2 * q * (1 - q)


@pytest.mark.parametrize("noise", [0.25, 0.5])
@pytest.mark.parametrize("name,truth,rate", [
    ("circle", lambda xy: np.hypot(xy[:, 0], xy[:, 1]) < 2.5, circle_mislabel_rate),
    ("xor", lambda xy: xy[:, 0] * xy[:, 1] >= 0, xor_mislabel_rate),
])
def test_noise_flips_labels_as_in_tensorflow_playground(name: str, truth, rate, noise: float) -> None:  # type: ignore[no-untyped-def]
    """TensorFlow Playground keeps each circle / xor point where it was drawn and labels it
    from a noise-shifted copy: noise mislabels points near the boundary (circle 7.9 % /
    24.8 %, xor 7.0 % / 17.5 % at noise 0.25 / 0.5)."""
    want = rate(noise)
    assert want == pytest.approx({("circle", 0.25): 0.0785, ("circle", 0.5): 0.248,
                                  ("xor", 0.25): 0.0696, ("xor", 0.5): 0.175}[name, noise], abs=5e-4)
    for seed in (1, 2):
        xy, label = DATASETS[name].fn(200_000, noise, np.random.default_rng(seed))
        mislabelled = (label > 0) != truth(xy)
        assert mislabelled.mean() == pytest.approx(want, abs=0.005)  # (sampling sd ~0.001)


@pytest.mark.parametrize("name,reach", [("circle", 5.0), ("xor", 5.3), ("plane", EXTENT), ("multigauss", EXTENT)])
def test_noise_moves_no_point_and_all_stay_on_the_plane(name: str, reach: float) -> None:
    clean, _ = generate(name, noise=0.0, seed=3)
    for noise in (0.25, 0.5):
        noisy, _ = generate(name, noise=noise, seed=3)
        np.testing.assert_array_equal(noisy, clean)  # the same points, whatever the noise
    big, _ = DATASETS[name].fn(200_000, 0.5, np.random.default_rng(4))
    assert np.abs(big).max() <= reach <= EXTENT


def test_plane_target_is_tensorflow_playgrounds_unclamped() -> None:
    xy, label = generate("plane", noise=0.0, seed=5)
    np.testing.assert_allclose(label, (xy[:, 0] + xy[:, 1]) / 10, atol=1e-6)
    assert label.max() > 1.1 and label.min() < -1.1  # (x1 + x2) / 10 reaches +-1.2: not clipped to [-1, 1]
    noisy, noisy_label = generate("plane", noise=0.5, seed=5)
    blur = noisy_label - (noisy[:, 0] + noisy[:, 1]) / 10
    assert 0.5 < np.abs(blur).max() <= 1.2 + 1e-6  # the shift, up to 2 * 6 * 0.5 / 10
    assert np.abs(noisy_label).max() > 1.2


def test_multigauss_target_is_the_largest_bump_in_absolute_value() -> None:
    """TensorFlow Playground: of the six bumps sign * max(0, 1 - distance / 2), the one largest in absolute value."""
    bumps = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    xy, label = generate("multigauss", noise=0.0, seed=6)
    for (x, y), got in zip(xy.tolist(), label.tolist()):
        values = [s * max(0.0, 1 - np.hypot(x - cx, y - cy) / 2) for cx, cy, s in bumps]
        assert got == pytest.approx(max(values, key=abs), abs=1e-6)


def test_circle_labels_follow_radius() -> None:
    xy, label = generate("circle", noise=0.0, seed=3)
    radius = np.hypot(xy[:, 0], xy[:, 1])
    assert np.all(radius[label > 0] < 2.5) and np.all(radius[label < 0] >= 2.5)


def test_moons_lie_on_their_half_circles() -> None:
    xy, label = generate("moons", noise=0.0, seed=2)
    p = xy / 3.0 + [0.5, 0.25]  # back to the unit moons
    upper, lower = p[label > 0], p[label < 0]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1, atol=1e-5)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1, atol=1e-5)
    assert upper[:, 1].min() >= -1e-6 and lower[:, 1].max() <= 0.5 + 1e-6


def test_checkerboard_labels_alternate_by_square() -> None:
    xy, label = generate("checkerboard", noise=0.0, seed=2)
    cx, cy = np.floor((xy[:, 0] + 5) / 2.5), np.floor((xy[:, 1] + 5) / 2.5)
    np.testing.assert_array_equal(label, np.where((cx + cy) % 2 == 0, 1.0, -1.0))
    assert len(set(zip(cx.tolist(), cy.tolist()))) == 16


def test_problem_lists() -> None:
    assert dataset_names("classification") == ("circle", "xor", "gauss", "spiral", "moons", "checkerboard")
    assert dataset_names("regression") == ("plane", "multigauss")
    assert dataset_names("multiclass") == ("blobs", "spirals")


def test_features() -> None:
    xy = np.array([[1.0, 2.0], [-3.0, 0.5]], dtype=np.float32)
    x = featurize(xy, list(FEATURES.names()))
    assert x.shape == (2, 7)
    np.testing.assert_allclose(x[1], [-3, 0.5, 9, 0.25, -1.5, np.sin(-3), np.sin(0.5)], rtol=1e-6)


def test_grid_covers_plane_top_row_first() -> None:
    g = grid(4)
    assert g.shape == (16, 2)
    assert g[0, 1] > 0 and g[-1, 1] < 0  # row 0 is the top of the plane
    assert np.abs(g).max() < EXTENT
