"""Sign-in links and their QR codes: a phone signs in by scanning one.

The link is ``<base>/signin#token=<token>``. The token rides in the URL *fragment*, which a
browser never sends to a server: it is not in any request line, proxy log or access log. The
sign-in page's script (``signin.js``) reads it, removes it from the address bar and the
history, and posts it with the sign-in form, as a person typing it would.

``<base>`` is the address people open the service at: the ``public_url`` setting
(``GEOSERVICE_PUBLIC_URL``), or an address given for one link.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from urllib.parse import quote

import segno

from geoservice.base.errors import OptionError, message
from geoservice.base.settings import check_public_url

__all__ = ["QR_SUFFIXES", "check_qr_path", "signin_base", "signin_url", "write_qr"]

QR_SUFFIXES = (".png", ".svg")
# Error correction "M" (15 % of the code may be damaged or dirty) and 8 pixels a module:
# a printed or on-screen code scans from a phone held at arm's length.
_ERROR = "m"
_SCALE = 8


def signin_base(base_url: str | None, public_url: str | None) -> str:
    """The address the link starts with: ``base_url`` when given, else ``public_url``.

    Raises
    ------
    OptionError
        ``base_url`` is not ``http(s)://host[:port][/path]``, or neither is set.
    """
    if base_url is not None and base_url.strip():
        try:
            if "#" in base_url:
                raise ValueError(base_url)
            checked = check_public_url(base_url)
        except ValueError:
            raise OptionError(
                message(
                    "signin.bad_base_url",
                    f"--base-url 为“{base_url}”，应为手机打开服务的地址 http(s)://主机[:端口]"
                    "（不带查询参数），如 http://192.168.1.20:8000。",
                    f"--base-url was {base_url!r} but is expected to be the address phones open "
                    "the service at, http(s)://host[:port] with no query, e.g. "
                    "http://192.168.1.20:8000.",
                )
            ) from None
        if checked is not None:
            return checked
    if public_url:
        return public_url.rstrip("/")
    raise OptionError(
        message(
            "signin.no_base_url",
            "不知道手机打开服务的地址，无法生成登录二维码；请设置环境变量 GEOSERVICE_PUBLIC_URL"
            "（如 http://192.168.1.20:8000）或使用 --base-url。",
            "The address phones open the service at is unknown, so no sign-in QR code can be "
            "made; set GEOSERVICE_PUBLIC_URL (e.g. http://192.168.1.20:8000) or pass "
            "--base-url.",
        )
    )


def signin_url(base: str, token: str) -> str:
    """``<base>/signin#token=<token>``: the token only in the fragment."""
    return f"{base.rstrip('/')}/signin#token={quote(token, safe='')}"


def check_qr_path(path: Path) -> Path:
    """``path`` when a QR code can be written there (checked before a token is issued).

    Raises
    ------
    OptionError
        ``path`` does not end in ``.png`` or ``.svg``, or its folder does not exist.
    """
    path = Path(path)
    if path.suffix.lower() not in QR_SUFFIXES:
        raise OptionError(
            message(
                "signin.bad_qr_file",
                f"--qr 为“{path}”，应以 .png 或 .svg 结尾，如 张三.png。",
                f"--qr was {str(path)!r} but is expected to end in .png or .svg, e.g. zhang.png.",
            )
        )
    if not path.parent.is_dir():
        raise OptionError(
            message(
                "signin.no_qr_folder",
                f"--qr 的文件夹“{path.parent}”不存在；请先创建或换一个文件夹。",
                f"The folder of --qr, {str(path.parent)!r}, does not exist; create it or "
                "choose another.",
            )
        )
    return path


def write_qr(url: str, path: Path) -> Path:
    """Write a QR code of ``url`` to ``path`` (PNG or SVG by its suffix), readable only by
    its owner (it holds a bearer token). OptionError as :func:`check_qr_path`."""
    path = check_qr_path(path)
    kind = path.suffix.lower()
    buffer = io.BytesIO()
    segno.make(url, error=_ERROR, micro=False).save(buffer, kind=kind[1:], scale=_SCALE, border=4)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(buffer.getvalue())
    os.chmod(path, 0o600)
    return path
