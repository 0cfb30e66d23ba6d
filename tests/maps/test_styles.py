"""Colours, status classes and the legend of the map products."""

from datetime import date

import pandas as pd
import pytest

from maps import cartography, styles


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


def _patch_rows(rows):
    return pd.DataFrame(rows, columns=["illegal", "change_cause"], index=range(10, 10 + len(rows)))


@pytest.mark.parametrize(
    ("illegal", "cause", "klass"),
    [
        ("true", "421", "illegal"),  # unapproved occupation, verified in the field
        ("false", "411", "legal"),  # the approved road: an approved cause
        ("false", None, "legal"),  # 是否违法 no, without a cause
        ("unknown", "421", "unverified"),  # the interpreter's cause only
        ("unknown", None, "unverified"),
        (None, None, "unverified"),
        ("unknown", "71", "other"),  # fire: neither approved nor illegal
        ("TRUE ", "71", "illegal"),
    ],
)
def test_patch_class_by_legality_and_verification(illegal, cause, klass):
    assert styles.patch_class(_patch_rows([(illegal, cause)])).tolist() == [klass]


def test_patch_class_keeps_the_index_and_takes_no_patch():
    rows = _patch_rows([("true", "22"), ("false", "41")])
    assert styles.patch_class(rows).to_dict() == {10: "illegal", 11: "legal"}
    assert styles.patch_class(_patch_rows([])).tolist() == []


def test_patch_class_without_the_legality_columns_is_unverified():
    assert styles.patch_class(pd.DataFrame(index=[1, 2])).tolist() == ["unverified"] * 2


def test_patch_colours_are_distinct_from_each_other_and_from_other_layers():
    colours = [styles.PATCH_COLOURS[k] for k in styles.PATCH_CLASSES]
    assert len(set(colours)) == len(styles.PATCH_CLASSES)
    others = {*styles.PRIORITY_COLOURS.values(), *styles.COMPLAINT_COLOURS.values(), "#1565c0"}
    assert not set(colours) & others


def test_patch_style_colours_by_class_and_dashes_unverified():
    legal, unverified = styles.patch_style("legal"), styles.patch_style("unverified")
    assert legal["fillColor"] == styles.PATCH_COLOURS["legal"] == legal["color"]
    assert "dashArray" in unverified and "dashArray" not in legal
    assert styles.patch_style("odd")["color"] == styles.UNKNOWN_COLOUR


def test_complaint_hidden_marks_closed_and_unfounded_only():
    frame = pd.DataFrame({"status": ["new", "verified", "closed", " Unfounded", None]})
    assert styles.complaint_hidden(frame).tolist() == [False, False, True, True, False]
    assert styles.complaint_hidden(pd.DataFrame(index=[0])).tolist() == [False]


def test_problem_ring_is_white_and_no_village_fill_uses_it():
    assert styles.PROBLEM_OUTLINE == "#ffffff"
    assert styles.PROBLEM_OUTLINE not in styles.STATUS_COLOURS.values()


def test_caption_html_escapes_the_title_and_gives_each_date():
    out = cartography.caption_html(
        "目标 <图>",
        [("研判数据截至", date(2026, 11, 20)), ("问题状态截至", "2026-11-28T08:00")],
        "zh",
    )
    assert "目标 &lt;图&gt;" in out
    assert "研判数据截至：2026-11-20" in out and "问题状态截至：2026-11-28<" in out


@pytest.mark.parametrize(
    ("day", "lang", "text"), [(None, "zh", "日期不详"), (" ", "en", "date unknown")]
)
def test_date_text_of_a_missing_date_says_it_is_unknown(day, lang, text):
    assert cartography.date_text(day, lang) == text
