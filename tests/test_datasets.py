import numpy as np
import pytest

from descent.datasets import DATASETS, EXTENT, FEATURES, SAMPLES, dataset_names, featurize, generate, grid


@pytest.mark.parametrize("name", DATASETS.names())
def test_shapes_and_labels(name: str) -> None:
    problem = DATASETS[name].meta["problem"]
    xy, label = generate(name, noise=0.0, seed=0)
    assert xy.shape == (SAMPLES[problem], 2) and label.shape == (SAMPLES[problem],)
    assert xy.dtype == np.float32 and label.dtype == np.float32
    if problem == "classification":
        assert set(np.unique(label)) == {-1.0, 1.0}
        assert 0.3 < (label > 0).mean() < 0.7  # both classes well represented
    else:
        assert label.min() >= -1 and label.max() <= 1 and label.std() > 0.1


@pytest.mark.parametrize("name", DATASETS.names())
def test_same_seed_same_data(name: str) -> None:
    a, la = generate(name, noise=0.2, seed=7)
    b, lb = generate(name, noise=0.2, seed=7)
    c, _ = generate(name, noise=0.2, seed=8)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, c)


def test_noise_moves_points() -> None:
    clean, _ = generate("circle", noise=0.0, seed=1)
    noisy, _ = generate("circle", noise=0.5, seed=1)
    assert np.abs(clean).max() <= 5.0 + 1e-6  # circle radius
    assert np.abs(noisy).max() > 5.0


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
