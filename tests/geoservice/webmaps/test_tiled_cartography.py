"""The light (vector tile) pages follow the standalone maps' cartography: patches by
legality, closed and unfounded complaints off until switched on, targets above every
layer, problem markers in a white ring."""

from __future__ import annotations

import pytest

from geoservice.webmaps.pages import DRAWN_LAYERS, page_layers
from maps import cartography, styles

EVERY = list(DRAWN_LAYERS)


def _layers(kind: str, visible: list[str] = EVERY, lang: str = "zh"):  # type: ignore[no-untyped-def]
    return page_layers(kind, visible, lang)  # type: ignore[arg-type]


def _named(kind: str, name: str):  # type: ignore[no-untyped-def]
    return [layer for layer in _layers(kind) if layer.name == name]


def test_patches_are_coloured_by_their_legality_class_with_the_standalone_colours():
    (patches,) = _named("targets", "patches")
    assert patches.colour_field == "legality"
    assert patches.colours == styles.PATCH_COLOURS
    assert patches.colour == styles.UNKNOWN_COLOUR


def test_patch_class_styles_are_the_standalone_patch_styles_unverified_dashed():
    (patches,) = _named("targets", "patches")
    assert patches.class_styles == {k: styles.patch_style(k) for k in styles.PATCH_CLASSES}
    assert "dashArray" in patches.class_styles["unverified"]
    assert "dashArray" not in patches.class_styles["illegal"]


def test_closed_and_unfounded_complaints_are_a_second_layer_off_by_default():
    shown, hidden = _named("targets", "complaints")
    rule = ("status", styles.HIDDEN_COMPLAINT_STATES)
    assert (shown.exclude, shown.only, shown.show) == (rule, None, True)
    assert (hidden.only, hidden.exclude, hidden.show) == (rule, None, False)
    assert shown.colour == styles.COMPLAINT_COLOURS["open"]
    assert hidden.colour == styles.COMPLAINT_COLOURS["hidden"]


def test_the_hidden_complaints_layer_is_named_in_the_callers_language():
    _shown, hidden = [c for c in _layers("targets", lang="en") if c.name == "complaints"]
    assert hidden.label == "Closed or unfounded complaints"


@pytest.mark.parametrize("kind", ["targets", "department"])
def test_targets_are_the_top_layer_in_the_targets_pane(kind):
    layers = _layers(kind)
    assert layers[-1].name == "targets"
    assert layers[-1].pane == cartography.TARGETS_PANE
    assert all(layer.pane is None for layer in layers[:-1])


@pytest.mark.parametrize("kind", ["villages", "department"])
def test_problem_markers_have_the_white_ring(kind):
    (problems,) = _named(kind, "problems")
    assert problems.style["color"] == styles.PROBLEM_OUTLINE
    assert problems.style["weight"] >= 2


def test_a_caller_without_complaints_gets_neither_complaint_layer():
    visible = [name for name in EVERY if name != "complaints"]
    assert not [layer for layer in _layers("targets", visible) if layer.name == "complaints"]


def test_no_visible_layer_gives_no_layer():
    assert _layers("targets", []) == []
