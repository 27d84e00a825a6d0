"""PDFs carry Chinese text with the system font, and with the built-in fallback on a bare machine."""

from __future__ import annotations

import io
from pathlib import Path

from jingzhun.exports import pdf

from .conftest import pdf_text


def _sample(font: str) -> bytes:
    out = io.BytesIO()
    styles = pdf.Styles(font)
    story = [
        pdf.Paragraph("拜泉县 贫困户识别公示", styles.title),
        pdf.grid([["户主姓名"], ["张三"]], styles),
    ]
    pdf.build(out, story, title="t", watermark="导出人：测试", font=font)
    return out.getvalue()


def test_without_a_system_font_the_builtin_cid_font_is_used(tmp_path: Path) -> None:
    font = pdf.cjk_font([str(tmp_path / "missing.ttc")])
    assert font == pdf.FALLBACK_FONT
    data = _sample(font)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "贫困户识别公示" in text and "张三" in text and "导出人：测试" in text


def test_a_broken_font_file_falls_back_too(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttc"
    broken.write_bytes(b"not a font")
    assert pdf.cjk_font([str(broken)]) == pdf.FALLBACK_FONT


def test_the_system_font_is_embedded_when_present() -> None:
    path = pdf.FONT_PATHS[0]
    if not Path(path).is_file():
        import pytest

        pytest.skip(f"{path} is not installed (Debian fonts-wqy-microhei)")
    font = pdf.cjk_font([path])
    assert font != pdf.FALLBACK_FONT
    data = _sample(font)
    assert b"FontFile2" in data  # an embedded TrueType subset
    assert "张三" in pdf_text(data)
