from __future__ import annotations

from typing import Any

import pytest

from gateway.accounts.credentials import (
    claimed_email,
    common_passwords,
    email_problem,
    parse_login,
    parse_password_change,
    parse_registration,
    password_problem,
)
from gateway.errors import InvalidInputError

EMAIL = "Ada.Lovelace@example.org"


@pytest.mark.parametrize(
    "password",
    [
        "kq8zvtmw",  # 8 characters
        "x" * 128,
        "all lower case words are fine",
        "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",  # any characters
        "\U0001f980" * 8,
        "with spaces and no digits",
    ],
)
def test_no_composition_rules(password: str) -> None:
    assert password_problem(password, EMAIL) is None


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("kq8zvtm", "8 to 128 characters"),
        ("x" * 129, "8 to 128 characters"),
        ("cafe\u0301" * 32 + "x", "8 to 128 characters"),  # 161 code points, 129 after NFKC
        (EMAIL, "email"),
        (EMAIL.upper(), "email"),
        ("ada.lovelace", "email"),
        ("password", "common"),
        ("PassWord1", "common"),
        ("qwertyuiop", "common"),
        ("iloveyou", "common"),
        ("baseball", "common"),
    ],
)
def test_policy(password: str, problem: str) -> None:
    found = password_problem(password, EMAIL)
    assert found is not None
    assert problem in found


def test_the_common_list_comes_from_zxcvbn() -> None:
    assert len(common_passwords()) > 10_000
    assert {"password", "12345678", "sunshine", "trustno1"} <= common_passwords()


@pytest.mark.parametrize(
    "email", ["ada@example.org", "a.b+tag@sub.example.co.uk", "ADA@EXAMPLE.ORG", "ü@exämple.de"]
)
def test_emails(email: str) -> None:
    assert email_problem(email) is None


@pytest.mark.parametrize(
    "email",
    ["ada", "ada@", "@example.org", "ada@example", "a b@example.org", "a@b@example.org",
     "ada@example.org\n", "x" * 250 + "@example.org"],
)  # fmt: skip
def test_not_emails(email: str) -> None:
    assert email_problem(email) is not None


def fields(document: dict[str, Any], parse: Any) -> set[str]:
    with pytest.raises(InvalidInputError) as raised:
        parse(document)
    return {error.field for error in raised.value.errors}


def test_login_takes_two_strings_and_no_policy() -> None:
    assert parse_login({"email": "a", "password": "b"}) == ("a", "b")
    assert fields({}, parse_login) == {"email", "password"}
    assert fields({"email": 1, "password": ["x"]}, parse_login) == {"email", "password"}
    assert fields({"email": "a", "password": "b", "remember": True}, parse_login) == {"remember"}
    assert fields({"email": "a", "password": "x" * 1000}, parse_login) == {"password"}


def test_registration() -> None:
    registration = parse_registration({"email": EMAIL, "password": "kq8zvtmw-ok"})
    assert (registration.email, registration.role) == (EMAIL, "user")
    admin = parse_registration({"email": EMAIL, "password": "kq8zvtmw-ok", "role": "admin"})
    assert admin.role == "admin"
    assert fields({"email": EMAIL, "password": "kq8zvtmw", "role": "root"}, parse_registration) == {
        "role"
    }
    assert fields({"email": "nope", "password": "password"}, parse_registration) == {
        "email",
        "password",
    }


def test_problems_never_echo_a_password() -> None:
    secret = "hunter2-but-longer-\u00e9"
    documents: list[dict[str, Any]] = [
        {"email": EMAIL, "password": secret, "role": "root"},
        {"email": secret, "password": 42},
        {"current_password": 7, "new_password": secret + "x" * 600},
    ]
    for document in documents:
        parse: Any = parse_password_change if "current_password" in document else parse_registration
        with pytest.raises(InvalidInputError) as raised:
            parse(document)
        assert "hunter2" not in str(raised.value)
        assert "hunter2" not in repr(raised.value.extensions())


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("ada@example.org", "ada@example.org"),
        ("correct horse battery staple", None),  # a password typed in the wrong field
        ("hunter2", None),
        ("x" * 300 + "@example.org", None),
    ],
)
def test_only_email_shaped_claims_are_kept(typed: str, kept: str | None) -> None:
    assert claimed_email(typed) == kept
