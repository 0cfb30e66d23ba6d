"""Classification marks (涉密, 秘密, 机密, 绝密) in names and values.

Data marked as classified is refused as soon as a name (file, archive member, layer,
sheet) or a classification column shows the mark (Article 6 of the collaboration rules:
such data is handled under the secrecy law, outside this system). Negations such as 非涉密
are not marks.
"""

from __future__ import annotations

import re

from layers.errors import ClassifiedDataError
from layers.messages import Message

CLASSIFIED_WORDS = ("涉密", "秘密", "机密", "绝密")

# "非涉密", "不涉密", "无涉密内容", "非秘密": negations that say the data is NOT classified.
_NEGATED_MARK = re.compile(r"(非|不|未|无|没有|不属于|不含)(涉密|秘密|机密|绝密)")


def classification_marks(value: str) -> list[str]:
    """The classification marks in ``value``, ignoring negations such as 非涉密."""
    text = _NEGATED_MARK.sub("", value)
    return [word for word in CLASSIFIED_WORDS if word in text]


def is_classified_text(value: str) -> bool:
    """True when ``value`` carries a classification mark (涉密, 秘密, 机密 or 绝密).

    Negated marks (非涉密, 不涉密, 无涉密, ...) are not marks.
    """
    return bool(classification_marks(value))


def check_not_classified(name: str) -> None:
    """Refuse a file (or member, layer, sheet) whose name carries a classification mark.

    Parameters
    ----------
    name : str
        The name as shown to the user, e.g. ``"parcels.zip!涉密/小班.shp"``.

    Raises
    ------
    ClassifiedDataError
        The name contains 涉密, 秘密, 机密 or 绝密.
    """
    marks = classification_marks(name)
    if not marks:
        return
    zh_marks = "、".join(f"“{m}”" for m in marks)
    en_marks = ", ".join(f"'{m}'" for m in marks)
    raise ClassifiedDataError(
        Message(
            "source.classified",
            f"文件“{name}”带有涉密标识{zh_marks}，不属于本系统，不予导入。按林长制协作制度第六条，"
            "涉及国家秘密的数据依照保密法律法规在本系统之外处理。未解压、未读取任何内容；"
            "请移除该文件，按保密规定的渠道处理。",
            f"File '{name}' is marked classified ({en_marks}); it does not belong on this"
            " system and is not imported. Under Article 6 of the forest-chief collaboration"
            " rules, classified data is handled under the secrecy law outside this system."
            " Nothing was extracted or read; remove the file and hand it over through the"
            " secrecy channel.",
        )
    )


__all__ = ["CLASSIFIED_WORDS", "check_not_classified", "classification_marks", "is_classified_text"]
