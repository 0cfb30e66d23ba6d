import pandas as pd
import pytest

from layers import codes


def test_normalize_code_pads_numeric_codes_so_131_equals_0131():
    out = codes.normalize_code(pd.Series([131, "0131", " 131 ", 131.0]), 4)
    assert out.tolist() == ["0131"] * 4


def test_normalize_code_turns_blank_into_missing():
    out = codes.normalize_code(pd.Series(["", "  ", None]))
    assert out.isna().all()


def test_code_key_strips_leading_zeros():
    assert codes.code_key(pd.Series(["0131", "131", "0"])).tolist() == ["131", "131", "0"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("有人在后山盗伐松树", "illegal_logging"),
        ("河边有人挖沙", "illegal_mining"),
        ("村民烧山", "fire_hazard"),
        ("有人下套捕鸟", "wildlife_crime"),
        ("有人往湿地倒土填埋", "wetland_damage"),
        ("盗伐滥伐林木", "illegal_logging"),
        ("land_occupation", "land_occupation"),
        ("说不清楚的事", "other"),
    ],
)
def test_category_from_text_classifies_chinese_text(text, expected):
    assert codes.category_from_text(pd.Series([text])).iloc[0] == expected


def test_category_from_text_keeps_missing_text_missing():
    assert codes.category_from_text(pd.Series([None, ""])).isna().all()


@pytest.mark.parametrize(
    ("word", "state"),
    [("待核实", "new"), ("属实", "verified"), ("不属实", "unfounded"), ("已办结", "closed")],
)
def test_complaint_status_words_map_to_states(word, state):
    out = codes.map_words(pd.Series([word]), codes.COMPLAINT_STATUS, codes.COMPLAINT_STATES)
    assert out.iloc[0] == state


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("未整改", "assigned"),
        ("整改中", "in_progress"),
        ("已整改", "reported"),
        ("已销号", "verified"),
        ("退回", "rejected"),
    ],
)
def test_problem_status_words_map_to_states(word, state):
    out = codes.map_words(pd.Series([word]), codes.PROBLEM_STATUS, codes.PROBLEM_STATES)
    assert out.iloc[0] == state


def test_unknown_status_word_maps_to_missing():
    out = codes.map_words(pd.Series(["差不多"]), codes.PROBLEM_STATUS, codes.PROBLEM_STATES)
    assert out.isna().all()


def test_department_codes_reads_chinese_names_and_reports_unknown():
    values, unknown = codes.department_codes(
        pd.Series(["镇自然资源所、派出所", "环保办，某某公司", None])
    )
    assert values.tolist()[:2] == ["natural_resources,police", "environment"]
    assert pd.isna(values.iloc[2])
    assert unknown == {"某某公司"}


@pytest.mark.parametrize(
    "raw", ["2025-03-04", "2025/3/4", "2025年3月4日", "20250304", "2025.3.4", "45720"]
)
def test_parse_dates_reads_chinese_spreadsheet_dates(raw):
    dates, bad = codes.parse_dates(pd.Series([raw]))
    assert not bad.iloc[0]
    assert dates.iloc[0] == pd.Timestamp("2025-03-04")


def test_parse_dates_flags_unreadable_values_but_not_blanks():
    _, bad = codes.parse_dates(pd.Series(["下周", "", None]))
    assert bad.tolist() == [True, False, False]
