"""The Chinese fonts the static map figures draw with, and making them known to matplotlib."""

from __future__ import annotations

import shutil
import subprocess
import threading

__all__ = ["CHINESE_FONTS", "know_chinese_fonts"]

# Families with Chinese glyphs, in the order the figures try them.
CHINESE_FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei"]
_FONT_CHECK = threading.Lock()
_font_checked = False


def know_chinese_fonts() -> None:
    """Make the system's Chinese fonts known to matplotlib, once per process.

    matplotlib lists the system's fonts once, in a cache file it makes when it first
    runs, and reads that list from then on. A Chinese font installed after that (the
    usual order: the service first, ``fonts-noto-cjk`` when the first work order shows
    boxes) is not in it, and every Chinese character of the figure would stay a box.
    When the list holds none of :data:`CHINESE_FONTS`, the files fontconfig gives for
    Chinese (``fc-list :lang=zh``) are added to it.
    """
    global _font_checked
    with _FONT_CHECK:
        if _font_checked:
            return
        _font_checked = True
        from matplotlib import font_manager

        manager = font_manager.fontManager
        if {f.name for f in manager.ttflist}.intersection(CHINESE_FONTS):
            return
        fc_list = shutil.which("fc-list")
        if fc_list is None:
            return
        try:
            listed = subprocess.run(
                [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=30
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return
        for path in sorted({line.split(":")[0].strip() for line in listed.splitlines()} - {""}):
            try:
                manager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # a file FreeType cannot read
                continue
