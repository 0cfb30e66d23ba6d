"""The rules file: defaults, overrides, validation messages, hash, display, keywords."""

import pandas as pd
import pytest

from geoservice.analysis.rules import (
    article_label,
    classify_text,
    load_rules,
    rules_hash,
    rules_table,
)
from geoservice.base.errors import OptionError
from layers.codes import CATEGORIES, DEPARTMENTS


def _override(tmp_path, text):
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_weigh_and_route_every_category():
    rules = load_rules()
    assert set(rules.severity) == set(CATEGORIES)
    assert set(rules.routing) == set(CATEGORIES)
    assert set(rules.departments) == set(DEPARTMENTS)


def test_default_routing_follows_the_design_table():
    rules = load_rules()
    assert rules.routing["illegal_logging"].lead == "agriculture"
    assert rules.routing["illegal_logging"].cooperating == ["police", "natural_resources"]
    assert rules.routing["fire_hazard"].cooperating == ["police", "agriculture", "public_service"]
    assert rules.routing["other"].cooperating == []


def test_an_override_changes_only_the_keys_it_names(tmp_path):
    rules = load_rules(_override(tmp_path, "complaints:\n  half_life_days: 90\n"))
    assert rules.complaints.half_life_days == 90
    assert rules.complaints.buffer_m == load_rules().complaints.buffer_m
    assert rules.complaints.status_weights.verified == 1.0


def test_unquoted_true_and_false_keys_mean_the_legality_words(tmp_path):
    text = "patches:\n  legality_weights: {true: 0.9, false: 0.1}\n"
    weights = load_rules(_override(tmp_path, text)).patches.legality_weights
    assert (weights.true, weights.false, weights.unknown) == (0.9, 0.1, 0.5)


def test_an_override_replaces_lists_whole(tmp_path):
    rules = load_rules(_override(tmp_path, "problems:\n  open_statuses: [assigned]\n"))
    assert rules.problems.open_statuses == ["assigned"]


def test_an_override_can_reroute_one_category(tmp_path):
    text = "routing:\n  pollution: {lead: environment, cooperating: [police], article: 10}\n"
    rules = load_rules(_override(tmp_path, text))
    assert rules.routing["pollution"].cooperating == ["police"]
    assert rules.routing["illegal_logging"].lead == "agriculture"


def test_a_bad_value_names_the_key_the_value_and_what_is_expected(tmp_path):
    path = _override(tmp_path, "complaints:\n  half_life_days: -3\n")
    with pytest.raises(OptionError, match=r"`complaints\.half_life_days` was -3 .*a number > 0"):
        load_rules(path)


def test_the_rules_error_is_bilingual(tmp_path):
    path = _override(tmp_path, "complaints:\n  half_life_days: -3\n")
    with pytest.raises(OptionError, match="half_life_days") as info:
        load_rules(path)
    assert "complaints.half_life_days" in info.value.text("zh")
    assert "应为大于 0 的数" in info.value.text("zh")
    assert str(path) in info.value.text("zh")


def test_a_misspelt_key_is_refused_not_ignored(tmp_path):
    path = _override(tmp_path, "complaints:\n  halflife_days: 90\n")
    with pytest.raises(OptionError, match=r"`complaints\.halflife_days` .*not a known key"):
        load_rules(path)


def test_a_number_given_as_text_is_refused(tmp_path):
    path = _override(tmp_path, "targets:\n  group_distance_m: far\n")
    with pytest.raises(OptionError, match=r"`targets\.group_distance_m` was 'far' .*a number"):
        load_rules(path)


def test_routing_to_an_unregistered_department_is_refused(tmp_path):
    text = "routing:\n  pollution: {lead: water_office, cooperating: [], article: 10}\n"
    with pytest.raises(OptionError, match=r"`routing\.pollution\.lead` was 'water_office'"):
        load_rules(_override(tmp_path, text))


def test_an_unknown_category_in_the_keyword_table_is_refused(tmp_path):
    text = "classification:\n  keywords:\n    poaching: [猎]\n"
    with pytest.raises(
        OptionError, match=r"`classification\.keywords\.poaching`.*one of the categories"
    ):
        load_rules(_override(tmp_path, text))


def test_p1_below_p2_is_refused(tmp_path):
    text = "targets:\n  priority: {p1_score: 3.0, p2_score: 5.0}\n"
    with pytest.raises(OptionError, match=r"`targets\.priority\.p1_score` was 3\.0 .*p2_score"):
        load_rules(_override(tmp_path, text))


def test_a_lead_repeated_among_cooperating_is_refused(tmp_path):
    text = "routing:\n  pollution: {lead: environment, cooperating: [environment], article: 10}\n"
    with pytest.raises(
        OptionError, match=r"`routing\.pollution\.cooperating\.0`.*other than the lead"
    ):
        load_rules(_override(tmp_path, text))


def test_a_missing_override_file_says_so(tmp_path):
    with pytest.raises(OptionError, match="does not exist"):
        load_rules(tmp_path / "nope.yaml")


def test_broken_yaml_names_the_line(tmp_path):
    path = _override(tmp_path, "complaints:\n  buffer_m: [200\n")
    with pytest.raises(OptionError, match=r"not valid YAML at line:column 3:1"):
        load_rules(path)


def test_a_yaml_list_is_not_a_rules_file(tmp_path):
    with pytest.raises(OptionError, match="expected to be a mapping"):
        load_rules(_override(tmp_path, "- a\n- b\n"))


def test_an_empty_override_gives_the_defaults(tmp_path):
    assert rules_hash(load_rules(_override(tmp_path, ""))) == rules_hash(load_rules())


def test_rules_hash_is_a_sha256_that_follows_the_values(tmp_path):
    base = rules_hash(load_rules())
    assert len(base) == 64
    assert rules_hash(load_rules()) == base
    changed = load_rules(_override(tmp_path, "flag:\n  score: 2.6\n"))
    assert rules_hash(changed) != base


def test_rules_hash_follows_the_keyword_order(tmp_path):
    rules = load_rules()
    reordered = dict(reversed(list(rules.classification.keywords.items())))
    other = rules.model_copy(
        update={"classification": rules.classification.model_copy(update={"keywords": reordered})}
    )
    assert rules_hash(other) != rules_hash(rules)


@pytest.mark.parametrize(
    ("article", "zh"),
    [(1, "第一条"), (8, "第八条"), (10, "第十条"), (11, "第十一条"), (23, "第二十三条")],
)
def test_articles_are_written_the_chinese_way(article, zh):
    assert article_label(article) == zh
    assert article_label(article, "en") == f"Article {article}"


def test_rules_table_in_chinese_names_departments_and_cites_the_article():
    table = rules_table(load_rules(), "zh")
    [fire] = [r for r in table["routing"] if r["category"] == "fire_hazard"]
    assert fire["lead_name"] == "镇应急管理办"
    assert fire["cooperating_names"] == ["镇郊派出所", "镇农业农村办", "镇公共服务办"]
    assert fire["citation"] == "《部门协作制度》第十条"
    assert fire["category_name"] == "野外违规用火火情"
    assert [e["department"] for e in table["escalations"]] == [
        "police",
        "agriculture",
        "environment",
    ]


def test_rules_table_in_english_lists_every_weight_with_its_key():
    table = rules_table(load_rules(), "en")
    rows = {row["key"]: row for section in table["sections"] for row in section["rows"]}
    assert rows["complaints.half_life_days"]["value"] == 180.0
    assert rows["complaints.buffer_m"]["unit"] == "m"
    assert rows["criminal.public_welfare_area_ha"]["label"].endswith("(5 mu)")
    assert table["routing"][0]["citation"] == "Article 10 of the Collaboration Rules"
    assert table["hash"] == rules_hash(load_rules())


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("下洞村风门坳保护区核心区有人用气枪打鸟。", "wildlife_crime"),
        ("河背村白石窝晚上经常有货车拉原木出村，不知道有没有木材运输手续。", "timber_transport"),
        ("河背村牛栏坑林地里被人偷倒了很多废油桶，怀疑是工厂废料。", "pollution"),
        ("高岭村大坝头每天晚上都有泥头车往河滩倒土，河边的沼泽地快被填平了。", "wetland_damage"),
        ("白石村黄泥岗的采石场被叫停后晚上又偷偷开工。", "illegal_mining"),
        ("田心村杉木垄山上着火了，烟很大，是有人在山脚烧荒引起的。", "fire_hazard"),
        ("黄岗村猪婆岭山上又有人砍树，晚上有油锯声，伐桩越来越多。", "illegal_logging"),
        ("竹山村后山有人毁林种砂糖橘。", "land_reclamation"),
        ("石坑村鸡公山松树成片枯死，怀疑松材线虫。", "pest_disease"),
    ],
)
def test_complaint_texts_are_classified_by_the_keyword_table(text, category):
    assert classify_text(pd.Series([text]), load_rules()).tolist() == [category]


def test_text_matching_no_keyword_and_missing_text_are_other():
    out = classify_text(pd.Series(["白石村烂泥塘古树旁边堆放杂物。", None]), load_rules())
    assert out.tolist() == ["other", "other"]


def test_the_first_category_in_table_order_wins(tmp_path):
    text = pd.Series(["有人在湿地里烧荒"])
    assert classify_text(text, load_rules()).tolist() == ["wetland_damage"]


def test_a_threshold_citation_left_empty_is_refused_naming_the_key(tmp_path):
    path = _override(tmp_path, "criminal:\n  citations:\n    fire: {zh: '', en: Art. 1}\n")
    with pytest.raises(OptionError, match=r"criminal\.citations\.fire\.zh"):
        load_rules(path)


def test_every_criminal_threshold_carries_its_citation():
    c = load_rules().criminal
    assert c.felling_volume_m3 == 5.0 and c.unlicensed_felling_volume_m3 == 20.0
    assert "法释〔2023〕8号" in c.citations.felling.zh
    assert "法释〔2022〕12号" in c.citations.hunting.zh
    assert "立案追诉标准" in c.citations.fire.zh
