"""Chinese vocabulary of the sample-data generator: names, code lists and text templates.

Everything here is plain data. Code values follow the real survey code lists (see
``shared/reference/survey-data.md`` §1); names of villages, places and the town are made up
but sound like the hill country around Lianzhou, Guangdong.
"""

from __future__ import annotations

# --------------------------------------------------------------------------- places

#: Village names used first (the town scale uses only these).
VILLAGE_NAMES: tuple[str, ...] = (
    "丰阳村",
    "东陂村",
    "石坑村",
    "黄岗村",
    "龙潭村",
    "上坪村",
    "下洞村",
    "水口村",
    "大塘村",
    "白石村",
    "高岭村",
    "茶坪村",
    "古城村",
    "沙坪村",
    "马岭村",
    "竹山村",
    "田心村",
    "河背村",
    "松柏村",
    "岭脚村",
)

#: Syllables combined into more village names for the county and province scales.
NAME_HEADS: tuple[str, ...] = (
    "东",
    "西",
    "南",
    "北",
    "上",
    "下",
    "大",
    "小",
    "新",
    "老",
    "石",
    "黄",
    "龙",
    "马",
    "白",
    "高",
    "茶",
    "沙",
    "竹",
    "松",
    "桥",
    "塘",
    "岭",
    "江",
    "横",
    "长",
    "青",
    "金",
    "凤",
    "鹤",
    "牛",
    "虎",
    "梅",
    "桃",
    "杉",
    "枫",
    "莲",
    "樟",
    "清",
    "冷",
)
NAME_TAILS: tuple[str, ...] = (
    "坪",
    "岭",
    "塘",
    "洞",
    "坑",
    "岗",
    "陂",
    "湾",
    "头",
    "田",
    "源",
    "冲",
    "垌",
    "圩",
    "山",
    "溪",
    "口",
    "背",
    "寨",
    "埠",
    "坝",
    "洲",
    "窝",
    "屋",
    "围",
    "岩",
    "尾",
    "坳",
)

#: Local place names (小地名) in the hills, used in complaint and problem text.
PLACE_NAMES: tuple[str, ...] = (
    "石坑口",
    "大岭背",
    "茶山坳",
    "老虎冲",
    "松树岭",
    "鸡公山",
    "杉木垄",
    "牛栏坑",
    "黄泥岗",
    "竹子坪",
    "猪婆岭",
    "社公坳",
    "狮子岩",
    "长冲",
    "白石窝",
    "企岭",
    "烂泥塘",
    "风门坳",
    "龙颈",
    "枫树坳",
)
#: Local place names along the river.
RIVER_PLACES: tuple[str, ...] = ("河背洲", "沙洲尾", "水口桥", "大坝头", "塘尾", "渡头")

#: The fictional town of the town scale, and its nature reserve.
TOWN_NAME = "溪岭镇"
RESERVE_NAME = "大岭县级自然保护区"

#: Real county-level codes of northern Guangdong, used in order (the first is Lianzhou).
COUNTY_CODES: tuple[str, ...] = (
    "441882",
    "441881",
    "441823",
    "441825",
    "441826",
    "441821",
    "441803",
    "441802",
    "440232",
    "440233",
    "440229",
    "440224",
    "440222",
    "440281",
    "440282",
    "440205",
    "440203",
    "440204",
    "441224",
    "441225",
    "441226",
    "441284",
)

# --------------------------------------------------------------------------- categories

#: Violation categories (``docs/design.md#data-contract``): key -> Chinese name used in CSV/XLSX.
CATEGORY_ZH: dict[str, str] = {
    "illegal_logging": "盗伐滥伐林木",
    "land_occupation": "非法占用林地湿地",
    "land_reclamation": "毁林毁湿开垦",
    "illegal_mining": "非法采矿采砂采石",
    "wildlife_crime": "非法猎捕收购出售野生动物",
    "wetland_damage": "填埋围垦排干湿地",
    "pollution": "排污倾倒废弃物",
    "illegal_construction": "违法建设",
    "fire_hazard": "野外违规用火火情",
    "pest_disease": "林业有害生物",
    "timber_transport": "非法运输收购木材",
    "roadside_trees": "公路林木损毁",
    "other": "其他",
}
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_ZH)

#: Share of each category among background complaints (sums to 1).
CATEGORY_SHARE: dict[str, float] = {
    "illegal_logging": 0.22,
    "land_occupation": 0.10,
    "land_reclamation": 0.07,
    "illegal_mining": 0.05,
    "wildlife_crime": 0.05,
    "wetland_damage": 0.03,
    "pollution": 0.10,
    "illegal_construction": 0.10,
    "fire_hazard": 0.12,
    "pest_disease": 0.05,
    "timber_transport": 0.04,
    "roadside_trees": 0.04,
    "other": 0.03,
}

#: Department names (``docs/design.md#department-registry-and-routing``) and the
#: cooperating departments per category.
DEPARTMENT_ZH: dict[str, str] = {
    "gov_office": "镇政府办公室",
    "police": "镇郊派出所",
    "finance": "镇财经办",
    "natural_resources": "镇自然资源所",
    "environment": "镇环保办",
    "construction": "镇建设办",
    "agriculture": "镇农业农村办",
    "public_service": "镇公共服务办",
    "emergency": "镇应急管理办",
}
ROUTING: dict[str, tuple[str, ...]] = {
    "illegal_logging": ("agriculture", "police", "natural_resources"),
    "land_occupation": ("natural_resources", "agriculture", "police"),
    "land_reclamation": ("agriculture", "natural_resources", "police"),
    "illegal_mining": ("natural_resources", "environment", "police"),
    "wildlife_crime": ("police", "finance", "agriculture"),
    "wetland_damage": ("agriculture", "environment", "natural_resources"),
    "pollution": ("environment", "agriculture"),
    "illegal_construction": ("natural_resources", "environment", "construction"),
    "fire_hazard": ("emergency", "police", "agriculture", "public_service"),
    "pest_disease": ("agriculture", "public_service"),
    "timber_transport": ("construction", "police", "finance"),
    "roadside_trees": ("construction", "agriculture"),
    "other": ("agriculture",),
}


def cc_departments(category: str) -> str:
    """Chinese 抄送部门 text of a category: its lead and cooperating departments, 、-joined."""
    return "、".join(DEPARTMENT_ZH[d] for d in ROUTING[category])


# --------------------------------------------------------------------------- complaints

CHANNELS: tuple[str, ...] = ("12345热线", "信访", "网络", "电话", "林长公示牌电话")
CHANNEL_SHARE: tuple[float, ...] = (0.42, 0.10, 0.20, 0.20, 0.08)

#: Complaint status words (核实结果).
STATUS_NEW, STATUS_TRUE, STATUS_FALSE, STATUS_CLOSED = "待核实", "属实", "不属实", "已办结"

#: Complaint bodies per category; each reads after "<村名><小地名>".
COMPLAINT_TEXT: dict[str, tuple[str, ...]] = {
    "illegal_logging": (
        "后山有人偷偷砍伐松树，已经砍倒了二十多棵，晚上用农用车拉走，请林业部门尽快查处。",
        "山上的杉木林被人成片砍伐，没有看到办采伐证，怀疑是盗伐。",
        "有人在公益林里砍树，地上全是新鲜的树桩，希望派人来看看。",
        "最近天天听到油锯声，有人在山里乱砍滥伐，砍的都是大树。",
        "有外地老板雇人砍伐阔叶林，伐桩很多，请核实是否办了采伐手续。",
    ),
    "land_occupation": (
        "有人在林地里推平山头建养殖场，占了好大一片林地。",
        "山脚的林地被人用挖掘机挖开修路，不知道有没有审批。",
        "有企业在林地上堆放建筑材料、搭建工棚，长期占用林地。",
        "河边的林地被围起来做了停车场，请核查是否合法占用。",
    ),
    "land_reclamation": (
        "有人把山上的林子推掉后开垦种砂糖橘，面积很大。",
        "有人毁林开荒种沃柑，原来的杂木林全部推平了。",
        "河滩湿地被人开垦成菜地，还在打农药。",
        "山坡上的灌木林被挖掉开垦种植药材，水土流失严重。",
    ),
    "illegal_mining": (
        "有人在山上非法采石，每天放炮，石头飞到路上很危险。",
        "河里有人晚上偷偷挖沙，抽沙船声音很大，河岸都被挖塌了。",
        "山坡上有人开了个采石场，没见过采矿许可证，林子被破坏了。",
        "有人用挖掘机在河道里挖沙洗沙，河水都变浑了。",
    ),
    "wildlife_crime": (
        "山里有人下铁夹、下套捕猎野猪和果子狸，很危险。",
        "有人在山上张挂鸟网捕鸟，网上挂了很多死鸟。",
        "圩日有人售卖野生的竹鼠和山鸡，怀疑是偷猎的。",
        "晚上有人打着手电进山用气枪打鸟。",
    ),
    "wetland_damage": (
        "河边的湿地被人用泥头车倒土填埋，已经填了好几亩。",
        "有人在河滩上倾倒建筑余泥填平湿地，准备建厂房。",
        "有人围垦河边的沼泽地挖鱼塘，把水排干了。",
        "最近有大量泥头车往河边倒土，湿地越来越小。",
    ),
    "pollution": (
        "有人往山沟里倾倒生活垃圾和建筑垃圾，臭味很大。",
        "养猪场的污水直接排进山塘和林地，树都死了。",
        "林地里被人偷倒了很多废油桶，怀疑是工厂废料。",
    ),
    "illegal_construction": (
        "有人在林地里违规建房，已经打好地基了。",
        "山上有人私自搭建铁皮房和厂房，没有看到规划许可。",
        "有人在山坡上违建别墅和围墙，占用了一片林地。",
    ),
    "fire_hazard": (
        "有人在山脚烧荒烧草，火烧到山上了，请赶紧派人来。",
        "清明前后有人上山烧纸祭祖，林子边上经常冒烟。",
        "山上着火了，烟很大，好像是有人烧田埂引起的。",
        "有人在林边焚烧秸秆和垃圾，存在山火隐患。",
    ),
    "pest_disease": (
        "山上的松树成片变红枯死，怀疑是松材线虫病。",
        "杉木林出现大量虫子，叶子都被吃光了。",
        "松毛虫很多，整片马尾松林叶子发黄。",
    ),
    "timber_transport": (
        "晚上经常有货车拉原木出村，不知道有没有木材运输手续。",
        "有木材加工厂收购来路不明的木材，请查一下。",
    ),
    "roadside_trees": (
        "公路边的绿化树被施工车辆撞断、挖倒了好几棵，没人管。",
        "县道边的行道树被人剥皮，树已经快死了。",
    ),
    "other": (
        "村里的古树旁边被人堆放杂物，担心影响古树生长。",
        "林区道路的护林防火宣传牌被人损坏了。",
        "咨询自家承包山上的树怎么申请采伐证。",
    ),
}

# --------------------------------------------------------------------------- problems

PROBLEM_STATUSES: tuple[str, ...] = ("未整改", "整改中", "已整改", "已销号", "退回")

#: Inspection campaigns (督查批次) and the date each found its problems.
CAMPAIGNS: tuple[tuple[str, str], ...] = (
    ("2025年第一季度林长制联合督查", "2025-03-18"),
    ("2025年森林督查问题整改", "2025-06-10"),
    ("2025年第三季度林长制联合督查", "2025-09-16"),
    ("2025年第四季度林长制联合督查", "2025-12-09"),
    ("2026年第一季度林长制联合督查", "2026-03-17"),
    ("2026年第二季度林长制联合督查", "2026-06-15"),
    ("2026年第三季度林长制联合督查", "2026-09-10"),
)

#: Problem descriptions per category; each reads after "<村名><小地名>".
PROBLEM_TEXT: dict[str, str] = {
    "illegal_logging": "发现伐桩多处，疑似无证采伐林木，需查清采伐主体并补植复绿。",
    "land_occupation": "林地被硬化堆放材料，未办理使用林地审批手续，需限期恢复林地原状。",
    "land_reclamation": "林地被开垦种植果树，需停止开垦并恢复植被。",
    "illegal_mining": "发现采挖痕迹，需停止采挖并开展生态修复。",
    "wildlife_crime": "巡护发现猎套、鸟网，需清理并加强巡护。",
    "wetland_damage": "河滩湿地被倾倒余泥，需清运余泥并恢复湿地。",
    "pollution": "林地内堆放垃圾，需清理并追查倾倒人。",
    "illegal_construction": "林地内新建简易房，需拆除并复绿。",
    "fire_hazard": "林缘存在野外用火痕迹，需加强火源管控和宣传。",
    "pest_disease": "松树枯死未及时清理，需开展疫木除治。",
    "timber_transport": "木材堆场台账不全，需规范木材经营加工。",
    "roadside_trees": "公路绿化带林木缺株，需补植。",
    "other": "护林员巡护记录不全，需完善巡护台账。",
}

# --------------------------------------------------------------------------- parcels

#: 三调 wetland land classes (DLBM -> DLMC) and their 湿地类型 (SDLX; "" = not filled).
WETLAND_CLASSES: dict[str, tuple[str, str]] = {
    "1101": ("河流水面", "11"),
    "1106": ("内陆滩涂", "13"),
    "1108": ("沼泽地", "31"),
    "0304": ("森林沼泽", ""),
    "0306": ("灌丛沼泽", ""),
    "0402": ("沼泽草地", "33"),
}
#: Share of each bank class among river-bank pieces; "" = not wetland (paddy, not exported).
BANK_SHARE: dict[str, float] = {
    "1106": 0.34,
    "1108": 0.14,
    "0304": 0.08,
    "0306": 0.08,
    "0402": 0.10,
    "": 0.62,
}

#: Remarks (备注) for forest parcels.
REMARK_RESERVE = RESERVE_NAME
REMARK_NATIONAL = "国家级公益林"
REMARK_BURNT = "2023年火烧迹地"
REMARK_REPLANT = "2024年更新造林"
REMARK_DISPUTE = "林权有争议"
REMARK_WATER = "饮用水源保护区"

#: Approval document number pattern (审核文号) for approved land use.
PERMIT_LAND = "粤林地许准〔{year}〕{no}号"
