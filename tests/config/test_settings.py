"""The settings parser: typed values from the environment, one clear problem per bad variable."""
from __future__ import annotations

import pytest

import config
from config import SETTINGS, SettingsError
from config.core import DEV_SECRET_KEY, FIXED
from config.declare import Setting


def test_an_empty_environment_gives_every_declared_default():
    values = config.load("development", environ={})
    for setting in SETTINGS.values():
        if setting.name not in ("TUIGUAN_ENV", "MESSAGING_SENDING_STALE_SECONDS", "RATELIMIT_STORAGE_URI"):
            assert values[setting.name] == setting.default, setting.name
    assert values["TUIGUAN_ENV"] == "development"
    assert all(values[name] == value for name, value in FIXED.items() if name != "TESTING")


def test_values_are_typed():
    values = config.load("development", environ={
        "MESSAGING_BATCH_SIZE": "200", "WECHAT_TIMEOUT": "2.5", "SESSION_COOKIE_SECURE": "yes",
        "FESTIVAL_PRIORITY_CATEGORIES": " elderly ; lonely,, ", "JOBS_MODE": "rq", "SERVICE_TIMEZONE": "Asia/Urumqi"})
    assert values["MESSAGING_BATCH_SIZE"] == 200
    assert values["WECHAT_TIMEOUT"] == 2.5
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["FESTIVAL_PRIORITY_CATEGORIES"] == ["elderly", "lonely"]
    assert values["JOBS_MODE"] == "rq"
    assert values["SERVICE_TIMEZONE"] == "Asia/Urumqi"


def test_an_empty_variable_counts_as_unset():
    values = config.load("development", environ={"MESSAGING_BATCH_SIZE": "", "SECRET_KEY": "  "})
    assert values["MESSAGING_BATCH_SIZE"] == SETTINGS["MESSAGING_BATCH_SIZE"].default
    assert values["SECRET_KEY"] == DEV_SECRET_KEY


@pytest.mark.parametrize(("name", "raw", "expected"), [
    ("MESSAGING_BATCH_SIZE", "abc", "MESSAGING_BATCH_SIZE: expected an integer ≥ 1, got 'abc'"),
    ("MESSAGING_BATCH_SIZE", "0", "MESSAGING_BATCH_SIZE: expected an integer ≥ 1, got '0'"),
    ("WECHAT_TIMEOUT", "fast", "WECHAT_TIMEOUT: expected a number from 0.1 to 60, got 'fast'"),
    ("SESSION_COOKIE_SECURE", "maybe", "SESSION_COOKIE_SECURE: expected a boolean (1/0, true/false, yes/no, "
                                       "on/off), got 'maybe'"),
    ("JOBS_MODE", "celery", "JOBS_MODE: expected one of inline, rq, got 'celery'"),
    ("REDIS_URL", "http://cache:6379", "REDIS_URL: expected a URL (redis://, rediss://, unix://, memory://), "
                                       "got 'http://cache:6379'"),
    ("SERVICE_TIMEZONE", "China/Beijing", "SERVICE_TIMEZONE: expected an IANA time zone such as Asia/Shanghai, "
                                          "got 'China/Beijing'"),
    ("BINDING_ATTEMPT_LIMIT", "five", "BINDING_ATTEMPT_LIMIT: expected a rate such as '5 per 15 minutes', "
                                      "got 'five'"),
    ("CERT_BOOKING_PAGE", "pages/x?id={id}", "CERT_BOOKING_PAGE: expected a page path with at most a {retiree_id} "
                                             "placeholder, got 'pages/x?id={id}'"),
    ("PII_KEY", "abc", "PII_KEY: must be base64 of 32 random bytes (not valid base64)"),
    ("PII_KEY", "c2hvcnQ=", "PII_KEY: must decode to at least 32 bytes (decodes to 5)"),
    ("WECHAT_CALLBACK_AES_KEY", "short", "WECHAT_CALLBACK_AES_KEY: must be WeChat's 43-character EncodingAESKey "
                                         "(got 5 characters)"),
])
def test_a_malformed_value_names_the_variable_and_what_it_expected(name, raw, expected):
    with pytest.raises(SettingsError) as refused:
        config.load("development", environ={name: raw})
    assert refused.value.problems == [expected]


def test_every_problem_is_listed_at_once_and_secrets_are_not_repeated():
    parsed = config.parse("development", environ={"API_TOKEN_TTL_DAYS": "0", "WECHAT_SECRET": " ",
                                                  "PII_KEY": "not-a-key-at-all", "MAX_CONTENT_LENGTH": "lots"})
    assert [p.name for p in parsed.problems] == ["PII_KEY", "MAX_CONTENT_LENGTH", "API_TOKEN_TTL_DAYS"]
    assert "not-a-key-at-all" not in " ".join(str(p) for p in parsed.problems)


def test_overrides_win_and_are_checked_by_the_same_rules():
    values = config.load("testing", {"MESSAGING_BATCH_SIZE": 7, "WECHAT_TIMEOUT": "1.5", "TESTING": True},
                         environ={"MESSAGING_BATCH_SIZE": "not even read"})
    assert (values["MESSAGING_BATCH_SIZE"], values["WECHAT_TIMEOUT"], values["TESTING"]) == (7, 1.5, True)
    with pytest.raises(SettingsError, match="MESSAGING_BATCH_SIZE: expected an integer ≥ 1"):
        config.load("testing", {"MESSAGING_BATCH_SIZE": -3}, environ={})


def test_the_environment_picks_the_production_defaults():
    development = config.load("development", environ={})
    production = config.parse("production", environ={}).values
    assert (development["JOBS_MODE"], production["JOBS_MODE"]) == ("inline", "rq")
    assert (development["SESSION_COOKIE_SECURE"], production["SESSION_COOKIE_SECURE"]) == (False, True)
    assert production["SECRET_KEY"] is None and production["WECHAT_APPID"] is None
    assert config.load(environ={"TUIGUAN_ENV": "testing"})["TESTING"] is True
    with pytest.raises(SettingsError, match="TUIGUAN_ENV: expected one of development, testing, production"):
        config.load(environ={"TUIGUAN_ENV": "staging"})


def test_derived_values_follow_their_base():
    values = config.load("development", {"DATABASE_URL": "postgres://u@db/x", "MESSAGING_JOB_TIMEOUT": 100},
                         environ={"REDIS_URL": "redis://cache/3"})
    assert values["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/x"
    assert values["RATELIMIT_STORAGE_URI"] == "redis://cache/3"
    assert values["MESSAGING_SENDING_STALE_SECONDS"] == 160
    explicit = config.load("development", environ={"RATELIMIT_STORAGE_URI": "redis://limits/1",
                                                   "MESSAGING_SENDING_STALE_SECONDS": "45"})
    assert (explicit["RATELIMIT_STORAGE_URI"], explicit["MESSAGING_SENDING_STALE_SECONDS"]) == (
        "redis://limits/1", 45)


def test_a_family_loads_into_one_dict_with_its_declared_default():
    values = config.load("development", {"WECHAT_TEMPLATE_CONDOLENCE": "from-override"},
                         environ={"WECHAT_TEMPLATE_BOOKING_CONFIRMED": " wx-tpl-1 ", "WECHAT_TEMPLATE_": "x",
                                  "WECHAT_TEMPLATE_VISIT_DONE": ""})
    templates = values["WECHAT_TEMPLATES"]
    assert dict(templates) == {"booking_confirmed": "wx-tpl-1", "condolence": "from-override"}
    assert templates["visit_done"] == "tpl-visit-done"
    assert templates.is_configured("booking_confirmed") and not templates.is_configured("visit_done")
    assert "WECHAT_TEMPLATE_CONDOLENCE" not in values


def test_every_declaration_is_well_formed():
    for setting in SETTINGS.values():
        assert setting.meaning and setting.name.isupper(), setting.name
        if setting.secret:
            assert setting.shown_default, f"{setting.name}: a secret's default is never printed"
        for environment in config.ENVIRONMENTS:
            default = setting.default_for(environment)
            if default is not None:
                assert setting.parse(default) == default, f"{setting.name} ({environment})"


def test_a_kind_nobody_parses_is_refused_at_declaration():
    with pytest.raises(ValueError, match="unknown kind"):
        Setting("X", "duration_in_moons", 1, "nonsense")
