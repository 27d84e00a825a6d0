"""A captcha drawn on the server (no outside service; ADR self-report-and-hotline): five characters
from an alphabet without look-alikes (no 0/O, 1/I/L), drawn by Pillow with each character shifted
and turned and crossed by lines and dots. The answer lives only in the server-side session
(database sessions), valid for `SELF_REPORT_LIMITS["captcha_seconds"]` and for one answer: a
wrong or right answer both use it up, so one picture cannot be tried twice.
"""

from __future__ import annotations

import io
import secrets
import time

from django.conf import settings
from django.http import HttpRequest
from PIL import Image, ImageDraw, ImageFont

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 5
SESSION_KEY = "self_report_captcha"
WIDTH, HEIGHT = 170, 56


def new_challenge(request: HttpRequest) -> str:
    """Draw a new answer for this session (replacing any earlier one) and return it."""
    answer = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    request.session[SESSION_KEY] = {"answer": answer, "at": int(time.time())}
    return answer


def image_png(answer: str) -> bytes:
    """The picture of `answer` as PNG bytes."""
    rnd = secrets.SystemRandom()
    image = Image.new("RGB", (WIDTH, HEIGHT), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        draw.line(
            [(rnd.randint(0, WIDTH), rnd.randint(0, HEIGHT)) for _ in range(2)],
            fill=(rnd.randint(90, 180), rnd.randint(90, 180), rnd.randint(90, 180)),
            width=2,
        )
    font = ImageFont.load_default(size=34)
    x = 8
    for char in answer:
        glyph = Image.new("RGBA", (40, 50), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text(
            (6, 2),
            char,
            font=font,
            fill=(rnd.randint(0, 90), rnd.randint(0, 90), rnd.randint(40, 120)),
        )
        glyph = glyph.rotate(rnd.uniform(-28, 28), resample=Image.Resampling.BICUBIC)
        image.paste(glyph, (x, rnd.randint(0, 8)), glyph)
        x += rnd.randint(27, 32)
    for _ in range(160):
        draw.point(
            (rnd.randint(0, WIDTH - 1), rnd.randint(0, HEIGHT - 1)),
            fill=(rnd.randint(0, 200),) * 3,
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def check_answer(request: HttpRequest, given: str) -> bool:
    """Whether `given` is this session's current answer (case and spaces ignored), still
    valid; the challenge is used up either way."""
    stored = request.session.pop(SESSION_KEY, None)
    if not isinstance(stored, dict):
        return False
    age = int(time.time()) - int(stored.get("at", 0))
    if age > settings.SELF_REPORT_LIMITS["captcha_seconds"]:
        return False
    answer = str(stored.get("answer", ""))
    typed = "".join(given.split()).upper()
    return bool(answer) and secrets.compare_digest(typed.encode(), answer.encode())
