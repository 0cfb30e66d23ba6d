"""Colours, status classes and the legend of the map products."""

import pandas as pd
import pytest

from maps import styles


@pytest.mark.parametrize(
    ("priority", "colour"),
    [("P1", "#c62828"), ("P2", "#ef6c00"), ("P3", "#f9a825"), ("P9", styles.UNKNOWN_COLOUR)],
)
def test_priority_colour(priority, colour):
    assert styles.priority_colour(priority) == colour


@pytest.mark.parametrize(
    ("state", "colour"),
    [("assigned", "#e53935"), ("verified", "#43a047"), ("nonsense", styles.UNKNOWN_COLOUR)],
)
def test_state_colour(state, colour):
    assert styles.state_colour(state) == colour


def _status(problems, overdue, verified, escalation):
    return pd.DataFrame(
        {
            "problems": [problems],
            "overdue": [overdue],
            "verified": [verified],
            "max_escalation": [escalation],
        }
    )


@pytest.mark.parametrize(
    ("row", "klass"),
    [
        ((3, 0, 3, "listed"), "escalated"),
        ((3, 1, 0, "supervision"), "escalated"),
        ((3, 1, 0, "letter"), "overdue"),
        ((2, 0, 1, "reminder"), "open"),
        ((2, 0, 2, "none"), "verified"),
        ((0, 0, 0, "none"), "none"),
    ],
)
def test_status_class_ranks_escalation_then_overdue_then_open(row, klass):
    assert styles.status_class(_status(*row)).tolist() == [klass]


@pytest.mark.parametrize(
    ("klass", "colour"),
    [
        ("escalated", "#d32f2f"),
        ("overdue", "#fb8c00"),
        ("open", "#fdd835"),
        ("verified", "#43a047"),
        ("none", "#bdbdbd"),
    ],
)
def test_status_colour_red_orange_yellow_green_grey(klass, colour):
    assert styles.status_colour(klass) == colour


def test_status_class_keeps_the_index():
    frame = pd.concat([_status(1, 1, 0, "none"), _status(0, 0, 0, "none")])
    frame.index = [7, 9]
    assert styles.status_class(frame).to_dict() == {7: "overdue", 9: "none"}


@pytest.mark.parametrize(("lang", "text"), [("zh", "挂牌督办"), ("en", "listed for supervision")])
def test_label_in_each_language(lang, text):
    assert styles.label(styles.ESCALATION_LABELS, "listed", lang) == text


def test_label_of_unknown_key_is_the_key():
    assert styles.label(styles.STATE_LABELS, "odd", "zh") == "odd"


def test_legend_html_escapes_text_and_shows_each_colour():
    out = styles.legend_html("图例 <b>", [("#c62828", "P1 <立即>"), ("#ef6c00", "P2")], kind="dot")
    assert "图例 &lt;b&gt;" in out
    assert "P1 &lt;立即&gt;" in out
    assert out.count("gs-swatch") == 2
    assert "border-radius:50%" in out


def test_village_labels_name_missing_villages_in_plain_words():
    codes = pd.Series(["441882101201", "441882109999", None, "a;b"])
    names = pd.Series(["竹山村", None, "", None], dtype="string")
    assert styles.village_labels(codes, names).tolist() == [
        "竹山村",
        "未知村（代码 441882109999）",
        "未知村",
        "未知村（代码 a、b）",
    ]
    assert styles.village_labels(codes, names, "en").tolist()[1:3] == [
        "unknown village (code 441882109999)",
        "unknown village",
    ]


def test_or_missing_fills_only_missing_and_blank_values():
    values = pd.Series(["2026-05-01", None, " "], index=[3, 4, 5])
    out = styles.or_missing(values, "date", "en")
    assert out.tolist() == ["2026-05-01", "date unknown", "date unknown"]
    assert list(out.index) == [3, 4, 5]
