"""Multi-user production on PostgreSQL behind HTTPS. Requires DATABASE_URL and JINGZHUN_SECRET_KEY."""

import os

from django.core.exceptions import ImproperlyConfigured

from jingzhun.core import fieldkeys

from .base import *  # noqa: F403

if not os.environ.get("JINGZHUN_SECRET_KEY"):
    raise ImproperlyConfigured("生产环境必须设置 JINGZHUN_SECRET_KEY。")
if not fieldkeys.configured() or not JINGZHUN_FIELD_KEYS or not JINGZHUN_INDEX_KEY:  # noqa: F405
    raise ImproperlyConfigured(
        "生产环境必须配置字段加密密钥（JINGZHUN_FIELD_KEY 或 JINGZHUN_FIELD_KEY_FILE）和盲索引密钥"
        "（JINGZHUN_INDEX_KEY 或 JINGZHUN_INDEX_KEY_FILE），并与数据库分开备份。"
    )
DEBUG = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = os.environ.get("JINGZHUN_SSL_REDIRECT", "1") == "1"
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Each server process keeps its database connection between requests (ADR 0038) instead of
# opening one per request: a new PostgreSQL backend cost about 5 ms of CPU, more than a whole
# warm dashboard request. It is checked (SELECT 1) before a request reuses it, so a restarted
# database costs no failed request; 0 closes it after every request again.
_database = DATABASES["default"]  # noqa: F405
_database["CONN_MAX_AGE"] = int(os.environ.get("JINGZHUN_DB_CONN_MAX_AGE", "600"))
_database["CONN_HEALTH_CHECKS"] = True
