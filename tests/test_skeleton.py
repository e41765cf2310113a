"""Joint layouts and conversion to H36M-17: trees, sides, and above all no left/right swaps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mpm_backend.skeleton import (
    BLAZEPOSE33,
    BODY25,
    COCO17,
    H36M17,
    LAYOUTS,
    Layout,
    flip,
    get_layout,
    layout_for_joint_count,
    to_h36m17,
    validate_layout,
)

ALL_LAYOUTS = [H36M17, COCO17, BLAZEPOSE33, BODY25]
H36M_LEFT = [4, 5, 6, 11, 12, 13]
H36M_RIGHT = [1, 2, 3, 14, 15, 16]

# An asymmetric person in metres, facing +z, y up, their LEFT side at +x. Left arm raised high,
# right arm hanging low, left knee lifted and bent forward, right leg straight. Every value is
# distinct; mid_hip and neck deliberately sit off the mid-hips / mid-shoulders points so the
# tests can tell which one a conversion used.
ASYMMETRIC: dict[str, tuple[float, float, float]] = {
    "nose": (0.011, 1.620, 0.101),
    "head": (0.004, 1.700, 0.020),
    "left_eye_inner": (0.021, 1.660, 0.081),
    "left_eye": (0.036, 1.665, 0.076),
    "left_eye_outer": (0.051, 1.667, 0.071),
    "right_eye_inner": (-0.018, 1.658, 0.082),
    "right_eye": (-0.033, 1.661, 0.074),
    "right_eye_outer": (-0.048, 1.663, 0.069),
    "left_ear": (0.076, 1.641, 0.003),
    "right_ear": (-0.072, 1.636, 0.006),
    "left_mouth": (0.025, 1.580, 0.091),
    "right_mouth": (-0.022, 1.582, 0.088),
    "neck": (0.002, 1.520, 0.004),
    "thorax": (0.007, 1.430, 0.002),
    "spine": (0.009, 1.210, -0.004),
    "pelvis": (0.006, 0.960, -0.008),
    "left_shoulder": (0.201, 1.423, 0.012),
    "right_shoulder": (-0.187, 1.401, -0.011),
    "left_elbow": (0.262, 1.702, 0.023),
    "right_elbow": (-0.221, 1.118, 0.031),
    "left_wrist": (0.284, 1.953, 0.052),
    "right_wrist": (-0.213, 0.877, 0.083),
    "left_pinky": (0.301, 2.031, 0.061),
    "right_pinky": (-0.226, 0.792, 0.091),
    "left_index": (0.276, 2.045, 0.077),
    "right_index": (-0.204, 0.789, 0.108),
    "left_thumb": (0.259, 2.012, 0.086),
    "right_thumb": (-0.189, 0.815, 0.112),
    "mid_hip": (0.004, 0.931, -0.021),
    "left_hip": (0.113, 0.952, 0.001),
    "right_hip": (-0.102, 0.944, -0.002),
    "left_knee": (0.131, 0.703, 0.304),
    "right_knee": (-0.112, 0.502, 0.021),
    "left_ankle": (0.124, 0.352, 0.153),
    "right_ankle": (-0.118, 0.081, -0.032),
    "left_heel": (0.122, 0.301, 0.101),
    "right_heel": (-0.121, 0.042, -0.083),
    "left_big_toe": (0.101, 0.341, 0.331),
    "right_big_toe": (-0.097, 0.012, 0.152),
    "left_small_toe": (0.157, 0.337, 0.302),
    "right_small_toe": (-0.149, 0.015, 0.133),
    "left_foot_index": (0.128, 0.339, 0.318),
    "right_foot_index": (-0.123, 0.014, 0.141),
}


def asymmetric_pose(layout: Layout, dims: int = 3) -> np.ndarray:
    """The asymmetric person in a layout's joint order, (J, dims)."""
    return np.array([ASYMMETRIC[name][:dims] for name in layout.joints], dtype=np.float64)


def mid(*names: str) -> np.ndarray:
    return np.mean([ASYMMETRIC[name] for name in names], axis=0)


def expected_h36m(layout: Layout) -> dict[str, np.ndarray]:
    """What docs/architecture.md says each H36M-17 joint should be, computed here independently."""
    if layout is H36M17:
        return {name: np.array(ASYMMETRIC[name]) for name in H36M17.joints}
    expected = {name: np.array(ASYMMETRIC[name]) for name in H36M17.joints if "_" in name}
    expected["nose"] = np.array(ASYMMETRIC["nose"])
    expected["pelvis"] = (
        np.array(ASYMMETRIC["mid_hip"]) if layout is BODY25 else mid("left_hip", "right_hip")
    )
    expected["thorax"] = mid("left_shoulder", "right_shoulder")
    expected["spine"] = (expected["pelvis"] + expected["thorax"]) / 2
    expected["head"] = mid("left_eye", "right_eye")
    return expected


def find_root(layout: Layout) -> int:
    roots = [j for j, p in enumerate(layout.parents) if p == -1]
    assert len(roots) == 1, f"{layout.name} has roots {roots}"
    return roots[0]


# --- layout structure -------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ALL_LAYOUTS, ids=lambda layout: layout.name)
def test_layout_is_one_tree(layout: Layout) -> None:
    n = layout.num_joints
    assert len(layout.parents) == n
    assert len(set(layout.joints)) == n
    root = find_root(layout)
    for joint in range(n):
        seen: set[int] = set()
        current = joint
        while current != root:
            assert current not in seen, f"{layout.name}: cycle through {layout.joints[joint]}"
            seen.add(current)
            current = layout.parents[current]
            assert 0 <= current < n
    assert len(layout.bones) == n - 1


@pytest.mark.parametrize("layout", ALL_LAYOUTS, ids=lambda layout: layout.name)
def test_sides_are_complete_and_named(layout: Layout) -> None:
    assert len(layout.left) == len(layout.right)
    assert not set(layout.left) & set(layout.right)
    assert len(set(layout.left)) == len(layout.left)
    for left_index, right_index in zip(layout.left, layout.right, strict=True):
        left_name, right_name = layout.joints[left_index], layout.joints[right_index]
        assert left_name.startswith("left_")
        assert right_name == "right_" + left_name.removeprefix("left_")
    sided = {j for j, name in enumerate(layout.joints) if name.startswith(("left_", "right_"))}
    assert sided == set(layout.left) | set(layout.right)


@pytest.mark.parametrize("layout", ALL_LAYOUTS, ids=lambda layout: layout.name)
def test_flip_permutation_is_an_involution_and_tree_is_mirror_symmetric(layout: Layout) -> None:
    perm = layout.flip_permutation
    np.testing.assert_array_equal(perm[perm], np.arange(layout.num_joints))
    for joint, parent in enumerate(layout.parents):
        mirrored_parent = layout.parents[perm[joint]]
        assert mirrored_parent == (-1 if parent == -1 else perm[parent])


def test_h36m17_order_is_the_design_order() -> None:
    assert H36M17.joints[:4] == ("pelvis", "right_hip", "right_knee", "right_ankle")
    assert H36M17.left == tuple(H36M_LEFT)
    assert H36M17.right == tuple(H36M_RIGHT)


def test_published_orders() -> None:
    assert COCO17.joints[0] == "nose" and COCO17.joints[5] == "left_shoulder"
    assert COCO17.index("right_ankle") == 16
    assert BLAZEPOSE33.index("left_eye") == 2 and BLAZEPOSE33.index("right_eye") == 5
    assert BLAZEPOSE33.index("left_shoulder") == 11 and BLAZEPOSE33.index("left_hip") == 23
    assert BLAZEPOSE33.index("right_foot_index") == 32
    assert BODY25.index("neck") == 1 and BODY25.index("right_shoulder") == 2
    assert BODY25.index("mid_hip") == 8 and BODY25.index("left_big_toe") == 19
    assert BODY25.index("right_heel") == 24
    assert find_root(BODY25) == BODY25.index("mid_hip")


def test_validate_layout_rejects_bad_tables() -> None:
    cycle = Layout("bad", ("a", "b", "c"), (-1, 2, 1), (), ())
    with pytest.raises(ValueError, match="cycle"):
        validate_layout(cycle)
    two_roots = Layout("bad", ("a", "b"), (-1, -1), (), ())
    with pytest.raises(ValueError, match="exactly one root"):
        validate_layout(two_roots)
    swapped = Layout("bad", ("root", "left_hand", "right_hand"), (-1, 0, 0), (2,), (1,))
    with pytest.raises(ValueError, match="not a left/right mirror"):
        validate_layout(swapped)
    unpaired = Layout("bad", ("root", "left_hand"), (-1, 0), (), ())
    with pytest.raises(ValueError, match="without a pair"):
        validate_layout(unpaired)


# --- names and detection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("h36m17", H36M17),
        ("H36M", H36M17),
        ("coco", COCO17),
        ("COCO17", COCO17),
        ("mediapipe", BLAZEPOSE33),
        ("BlazePose", BLAZEPOSE33),
        ("blazepose33", BLAZEPOSE33),
        ("openpose", BODY25),
        ("body_25", BODY25),
        ("BODY25", BODY25),
    ],
)
def test_get_layout_accepts_names_and_aliases(name: str, expected: Layout) -> None:
    assert get_layout(name) is expected


def test_get_layout_unknown_lists_known_names() -> None:
    with pytest.raises(ValueError, match="unknown joint layout 'smpl24'") as error:
        get_layout("smpl24")
    for name in LAYOUTS:
        assert name in str(error.value)


def test_layout_for_joint_count() -> None:
    assert layout_for_joint_count(33) is BLAZEPOSE33
    assert layout_for_joint_count(25) is BODY25
    with pytest.raises(ValueError, match="ambiguous.*layout name"):
        layout_for_joint_count(17)
    with pytest.raises(ValueError, match="no known layout has 18 joints"):
        layout_for_joint_count(18)


# --- conversion: the asymmetric pose ----------------------------------------------------------


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("layout", ALL_LAYOUTS, ids=lambda layout: layout.name)
def test_asymmetric_pose_keeps_sides(layout: Layout, dims: int) -> None:
    source = asymmetric_pose(layout, dims)
    points, confidence = to_h36m17(source, layout.name)
    assert points.shape == (17, dims) and confidence.shape == (17,)
    np.testing.assert_array_equal(confidence, np.ones(17))

    # Sided joints copy exactly, each to the joint of the same side.
    for h36m_index in H36M_LEFT + H36M_RIGHT:
        name = H36M17.joints[h36m_index]
        np.testing.assert_array_equal(points[h36m_index], source[layout.index(name)])
    # The person's left is +x: every H36M left joint must be on +x, every right on -x.
    assert (points[H36M_LEFT, 0] > 0).all() and (points[H36M_RIGHT, 0] < 0).all()
    assert points[H36M17.index("left_wrist"), 1] > 1.9  # the raised arm stays the left one
    assert points[H36M17.index("right_wrist"), 1] < 0.9

    expected = expected_h36m(layout)
    for name in H36M17.joints:
        np.testing.assert_allclose(
            points[H36M17.index(name)], expected[name][:dims], rtol=0, atol=1e-12, err_msg=name
        )


def test_body25_uses_mid_hip_not_mid_hips_and_shoulders_not_neck() -> None:
    points, _ = to_h36m17(asymmetric_pose(BODY25), "openpose")
    assert not np.allclose(points[0], mid("left_hip", "right_hip"))
    np.testing.assert_array_equal(points[0], ASYMMETRIC["mid_hip"])
    assert not np.allclose(points[8], ASYMMETRIC["neck"])


def test_h36m_input_is_returned_as_a_copy() -> None:
    source = asymmetric_pose(H36M17)
    points, confidence = to_h36m17(source, H36M17)
    np.testing.assert_array_equal(points, source)
    points[0] = 99.0
    assert source[0, 0] != 99.0
    np.testing.assert_array_equal(confidence, np.ones(17))


# --- conversion: confidence, NaN, fallbacks, shapes -------------------------------------------


def test_derived_joint_confidence_is_the_minimum() -> None:
    confidence = np.linspace(0.9, 0.1, 17)  # distinct, falling with the joint index
    confidence_by_name = dict(zip(COCO17.joints, confidence, strict=True))
    _, out = to_h36m17(asymmetric_pose(COCO17), "coco17", confidence)
    pelvis = min(confidence_by_name["left_hip"], confidence_by_name["right_hip"])
    thorax = min(confidence_by_name["left_shoulder"], confidence_by_name["right_shoulder"])
    assert out[H36M17.index("pelvis")] == pytest.approx(pelvis)
    assert out[H36M17.index("thorax")] == pytest.approx(thorax)
    assert out[H36M17.index("spine")] == pytest.approx(min(pelvis, thorax))
    assert out[H36M17.index("head")] == pytest.approx(
        min(confidence_by_name["left_eye"], confidence_by_name["right_eye"])
    )
    assert out[H36M17.index("left_knee")] == pytest.approx(confidence_by_name["left_knee"])
    assert out[H36M17.index("nose")] == pytest.approx(confidence_by_name["nose"])


def test_nan_joint_gives_nan_and_zero_confidence_where_used() -> None:
    source = asymmetric_pose(COCO17)
    source[COCO17.index("left_hip")] = np.nan
    confidence = np.full(17, 0.8)
    points, out = to_h36m17(source, "coco17", confidence)
    for name in ("left_hip", "pelvis", "spine"):
        assert np.isnan(points[H36M17.index(name)]).all(), name
        assert out[H36M17.index(name)] == 0.0, name
    untouched = [n for n in H36M17.joints if n not in ("left_hip", "pelvis", "spine")]
    for name in untouched:
        assert np.isfinite(points[H36M17.index(name)]).all(), name
        assert out[H36M17.index(name)] == pytest.approx(0.8), name


def test_nan_joint_has_zero_confidence_without_given_confidence() -> None:
    source = asymmetric_pose(H36M17)
    source[5, 1] = np.nan
    _, confidence = to_h36m17(source, "h36m")
    assert confidence[5] == 0.0 and confidence.sum() == 16


@pytest.mark.parametrize("layout", [COCO17, BLAZEPOSE33, BODY25], ids=lambda x: x.name)
def test_head_falls_back_to_mid_ears_when_an_eye_is_missing(layout: Layout) -> None:
    source = np.stack([asymmetric_pose(layout)] * 2)
    confidence = np.ones((2, layout.num_joints))
    confidence[1, layout.index("left_ear")] = 0.3
    source[1, layout.index("right_eye")] = np.nan  # only frame 1 loses an eye
    points, out = to_h36m17(source, layout, confidence)
    head = H36M17.index("head")
    np.testing.assert_allclose(points[0, head], mid("left_eye", "right_eye"), atol=1e-12)
    np.testing.assert_allclose(points[1, head], mid("left_ear", "right_ear"), atol=1e-12)
    np.testing.assert_allclose(out[:, head], [1.0, 0.3])


def test_head_is_nan_when_eyes_and_ears_are_missing() -> None:
    source = asymmetric_pose(COCO17)
    source[[1, 2, 3, 4]] = np.nan
    points, confidence = to_h36m17(source, "coco17")
    assert np.isnan(points[H36M17.index("head")]).all()
    assert confidence[H36M17.index("head")] == 0.0


def test_body25_pelvis_falls_back_to_mid_hips() -> None:
    source = asymmetric_pose(BODY25)
    source[BODY25.index("mid_hip")] = np.nan
    points, confidence = to_h36m17(source, "body25")
    np.testing.assert_allclose(points[0], mid("left_hip", "right_hip"), atol=1e-12)
    assert confidence[0] == 1.0


@pytest.mark.parametrize("layout", ALL_LAYOUTS, ids=lambda layout: layout.name)
def test_leading_dims_match_per_frame_conversion(layout: Layout) -> None:
    rng = np.random.default_rng(7)
    frames = rng.normal(size=(5, layout.num_joints, 2))
    frame_confidence = rng.uniform(0.1, 1.0, size=(5, layout.num_joints))
    points, confidence = to_h36m17(frames, layout, frame_confidence)
    assert points.shape == (5, 17, 2) and confidence.shape == (5, 17)
    for t in range(5):
        one_points, one_confidence = to_h36m17(frames[t], layout, frame_confidence[t])
        np.testing.assert_array_equal(points[t], one_points)
        np.testing.assert_array_equal(confidence[t], one_confidence)

    batch = rng.normal(size=(3, 4, layout.num_joints, 3)).astype(np.float32)
    points, confidence = to_h36m17(batch, layout)
    assert points.shape == (3, 4, 17, 3) and confidence.shape == (3, 4, 17)
    assert points.dtype == np.float32
    np.testing.assert_array_equal(points[2, 1], to_h36m17(batch[2, 1], layout)[0])


def test_shape_errors_name_expected_and_got() -> None:
    with pytest.raises(ValueError, match=r"'coco17'.*\(\.\.\., 17, 2\).*got \(5, 18, 2\)"):
        to_h36m17(np.zeros((5, 18, 2)), "coco")
    with pytest.raises(ValueError, match=r"'body25'.*got \(25, 4\)"):
        to_h36m17(np.zeros((25, 4)), "body25")
    with pytest.raises(ValueError, match=r"got \(33,\)"):
        to_h36m17(np.zeros(33), "blazepose")
    with pytest.raises(ValueError, match=r"confidence.*'coco17'.*\(5, 17\).*got \(5, 16\)"):
        to_h36m17(np.zeros((5, 17, 2)), "coco", np.ones((5, 16)))
    with pytest.raises(ValueError, match="unknown joint layout"):
        to_h36m17(np.zeros((17, 2)), "nonsense")


# --- flip -------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ALL_LAYOUTS, ids=lambda layout: layout.name)
def test_flip_twice_is_identity(layout: Layout) -> None:
    rng = np.random.default_rng(3)
    points = rng.normal(size=(4, layout.num_joints, 3))
    confidence = rng.uniform(size=(4, layout.num_joints))
    once_points, once_confidence = flip(points, layout, confidence)
    twice_points, twice_confidence = flip(once_points, layout, once_confidence)
    np.testing.assert_array_equal(twice_points, points)
    np.testing.assert_array_equal(twice_confidence, confidence)
    pixels = rng.uniform(0, 640, size=(layout.num_joints, 2))
    np.testing.assert_allclose(
        flip(flip(pixels, layout, width=640.0), layout, width=640.0), pixels, atol=1e-9
    )


@pytest.mark.parametrize("layout", ALL_LAYOUTS, ids=lambda layout: layout.name)
def test_flip_moves_left_wrist_to_mirrored_right_wrist(layout: Layout) -> None:
    source = asymmetric_pose(layout)
    flipped = flip(source, layout)
    left_x, left_y, left_z = ASYMMETRIC["left_wrist"]
    np.testing.assert_array_equal(flipped[layout.index("right_wrist")], [-left_x, left_y, left_z])
    # The raised arm is now on the right side and on -x.
    assert flipped[layout.index("right_wrist"), 1] > 1.9
    pixels = flip(source[:, :2] * 100 + 300, layout, width=640.0)
    np.testing.assert_allclose(
        pixels[layout.index("right_wrist")], [640 - (left_x * 100 + 300), left_y * 100 + 300]
    )


@pytest.mark.parametrize("layout", ALL_LAYOUTS, ids=lambda layout: layout.name)
def test_flip_commutes_with_conversion(layout: Layout) -> None:
    rng = np.random.default_rng(11)
    points = rng.normal(size=(6, layout.num_joints, 3))
    confidence = rng.uniform(0.05, 1.0, size=(6, layout.num_joints))
    points[2, 1] = np.nan  # a missing joint must stay missing on the mirrored side
    if layout.num_joints > 3:
        points[4, 3] = np.nan
    flipped_points, flipped_confidence = flip(points, layout, confidence)
    flip_then_convert = to_h36m17(flipped_points, layout, flipped_confidence)
    h36m_points, h36m_confidence = to_h36m17(points, layout, confidence)
    convert_then_flip = flip(h36m_points, H36M17, h36m_confidence)
    np.testing.assert_array_equal(flip_then_convert[0], convert_then_flip[0])
    np.testing.assert_array_equal(flip_then_convert[1], convert_then_flip[1])

    pixels = rng.uniform(0, 1920, size=(6, layout.num_joints, 2))
    via_source = to_h36m17(flip(pixels, layout, width=1920.0), layout)[0]
    via_h36m = flip(to_h36m17(pixels, layout)[0], H36M17, width=1920.0)
    np.testing.assert_allclose(via_source, via_h36m, rtol=0, atol=1e-9)


def test_flip_rejects_width_for_3d_and_bad_shapes() -> None:
    with pytest.raises(ValueError, match="2D"):
        flip(np.zeros((17, 3)), "h36m", width=100.0)
    with pytest.raises(ValueError, match=r"'body25'.*got \(24, 2\)"):
        flip(np.zeros((24, 2)), "body25")


@settings(max_examples=50, deadline=None)
@given(
    layout=st.sampled_from(ALL_LAYOUTS),
    frames=st.integers(min_value=1, max_value=4),
    data=st.data(),
)
def test_flip_is_an_involution_for_any_points(layout: Layout, frames: int, data) -> None:
    finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
    points = data.draw(arrays(np.float64, (frames, layout.num_joints, 2), elements=finite))
    np.testing.assert_array_equal(flip(flip(points, layout), layout), points)


def test_the_yaml_maps_use_the_face_offsets_of_mpm_backend_skeleton():
    """The skeleton and rig maps state face offsets per family; they must be the shared ones."""
    import yaml

    from mpm_backend.skeleton import HEAD_EYES_OFFSET, HEAD_NOSE_OFFSET, HEAD_NOSE_OFFSET_WITH_EYES

    root = Path(__file__).resolve().parents[1]
    shared = {HEAD_EYES_OFFSET, HEAD_NOSE_OFFSET, HEAD_NOSE_OFFSET_WITH_EYES}
    files = [
        *(root / "training" / "data" / "skeleton_maps").glob("*.yaml"),
        *root.glob("blender_addon/rigs/*.yaml"),
    ]
    found = 0
    for path in files:
        raw = yaml.safe_load(path.read_text())
        points = [raw.get("eyes"), raw.get("nose"), *(raw.get("rest_joints") or {}).values()]
        for point in points:
            if isinstance(point, dict) and "offset" in point:
                assert tuple(point["offset"]) in shared, (path.name, point)
                found += 1
    assert found >= 10
