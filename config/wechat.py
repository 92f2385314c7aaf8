"""WeChat settings: the API base, mini-program credentials, push-message keys, template ids."""
from __future__ import annotations

from config.declare import Family, Setting
from config.keys import check_callback_aes_key

# The bundled sandbox's identity (app/wechat/sandbox.py starts with these): public, refused in production.
SANDBOX_APPID = "wx-sandbox-appid"
SANDBOX_SECRET = "sandbox-secret"  # noqa: S105 — the sandbox's published fake secret
SANDBOX_CALLBACK_TOKEN = "sandbox-callback-token"  # noqa: S105 — documented for the sandbox
OFFICIAL_API_BASE = "https://api.weixin.qq.com/"


def template_placeholder(key: str) -> str:
    """The template id a key has until one is configured: the sandbox accepts it, WeChat does not."""
    return "tpl-" + key.replace("_", "-")


GROUP = "WeChat"
SETTINGS = (
    Setting("WECHAT_API_BASE", "url", OFFICIAL_API_BASE,
            "base of every WeChat URL (`make run` points it at the sandbox)", schemes=("http", "https")),
    Setting("WECHAT_APPID", "str", SANDBOX_APPID, "mini-program AppID", production=None,
            shown_default="sandbox value", shown_production="required"),
    Setting("WECHAT_SECRET", "str", SANDBOX_SECRET, "mini-program AppSecret", production=None, secret=True,
            shown_default="sandbox value", shown_production="required"),
    Setting("WECHAT_TIMEOUT", "float", 5.0, "seconds, on every WeChat call", minimum=0.1, maximum=60),
    Setting("WECHAT_CALLBACK_TOKEN", "str", SANDBOX_CALLBACK_TOKEN,
            "token for WeChat push-message signatures (3–32 letters or digits, as set in WeChat's console)",
            production=None, secret=True, shown_default="sandbox value", shown_production="required"),
    Setting("WECHAT_CALLBACK_AES_KEY", "str", None, "EncodingAESKey: enables WeChat's safe (encrypted) push mode",
            secret=True, check=check_callback_aes_key, shown_default="unset"),
    Setting("WECHAT_MINIPROGRAM_STATE", "enum", None, "subscribe messages open this version of the mini-program",
            choices=("developer", "trial", "formal"), shown_default="unset (WeChat: formal)"),
    Setting("WECHAT_CA_BUNDLE", "path", None,
            "CA bundle (PEM) for WeChat's TLS, e.g. behind an inspecting proxy; WeChat calls ignore "
            "`REQUESTS_CA_BUNDLE`", shown_default="unset (certifi's bundle)"),
)

FAMILIES = (
    Family("WECHAT_TEMPLATES", "WECHAT_TEMPLATE_",
           "WeChat subscribe-message template id per message kind, e.g. `WECHAT_TEMPLATE_HOLIDAY_GREETING` "
           "(required in production for every kind)",
           default=template_placeholder, shown_default="`tpl-<key>` (sandbox only)"),
)
