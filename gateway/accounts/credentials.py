"""Emails, passwords and roles as they arrive in auth bodies, and the password policy.

Policy (NIST SP 800-63B 5.1.1.2): 8 to 128 characters after NFKC normalisation, any
characters, no composition rules; not the account's email nor its local part, and
not one of the 30,000 most common passwords. The list is the ``passwords`` frequency
list that the ``zxcvbn`` package ships as data (the password corpus of Dropbox's
zxcvbn): a pinned, MIT-licensed dependency instead of a copied file we would have to
keep up to date ourselves. It is compared ignoring letter case, and loaded once, on
first use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from gateway.accounts.passwords import normalize
from gateway.declarations import Choice, Field, Obj, Secret
from gateway.errors import FieldError, InvalidInputError
from gateway.fields import Findings
from gateway.tokens import Role

MIN_PASSWORD_LENGTH: Final = 8
MAX_PASSWORD_LENGTH: Final = 128
MAX_EMAIL_LENGTH: Final = 254  # RFC 5321's limit on a forward path, less the brackets
# One "@", no whitespace or control characters, a dot in the domain. Deliverability is
# not our concern; a shape that cannot be a password typed in the wrong field is.
EMAIL_SHAPE: Final = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    role: Role


def email_problem(email: str) -> str | None:
    if len(email) > MAX_EMAIL_LENGTH:
        return f"must be at most {MAX_EMAIL_LENGTH} characters"
    if not EMAIL_SHAPE.fullmatch(email):
        return "expected an email address such as ada@example.org"
    return None


def claimed_email(text: str) -> str | None:
    """The email of a failed login as typed, for its audit row, when it has the shape
    of an email address: people do type their password into the email field."""
    return text if email_problem(text) is None else None


def password_problem(password: str, email: str) -> str | None:
    text = normalize(password)
    if not MIN_PASSWORD_LENGTH <= len(text) <= MAX_PASSWORD_LENGTH:
        return (
            f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long, "
            f"has {len(text)}"
        )
    folded = text.casefold()
    if folded in {email.casefold(), email.partition("@")[0].casefold()}:
        return "must not be the email address or its part before the @"
    if folded in common_passwords():
        return "is one of the most common passwords; choose another"
    return None


@cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # ~1 MB: only when first needed

    return frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"] if len(word) >= 8)


EMAIL: Final = Secret(MAX_EMAIL_LENGTH, format="email")
# At login and as the current password any string of sane size: the policy is for new ones.
PASSWORD: Final = Secret(4 * MAX_PASSWORD_LENGTH, format="password")
NEW_PASSWORD: Final = (
    f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters (after NFKC normalisation), "
    "not the email address nor its part before the @, not one of the most common passwords"
)
LOGIN: Final = Obj(
    (Field("email", EMAIL, required=True), Field("password", PASSWORD, required=True)),
    title="Login",
)
REGISTRATION: Final = Obj(
    (
        Field("email", EMAIL, required=True, description="ignores letter case"),
        Field("password", PASSWORD, required=True, description=NEW_PASSWORD),
        Field("role", Choice(("user", "admin")), description="'user' when absent"),
    ),
    title="Registration",
)
PASSWORD_CHANGE: Final = Obj(
    (
        Field("current_password", PASSWORD, required=True),
        Field("new_password", PASSWORD, required=True, description=NEW_PASSWORD),
    ),
    title="PasswordChange",
)


def parse_login(document: Mapping[str, Any]) -> tuple[str, str]:
    """``{email, password}`` as given: no policy at login, just strings of sane size."""
    values = _members(LOGIN, document)
    return values["email"], values["password"]


def parse_registration(document: Mapping[str, Any]) -> Registration:
    found = Findings()
    values = REGISTRATION.members(document, "", found)
    email, password = values["email"], values["password"]
    if email and (problem := email_problem(email)):
        found.add("email", problem)
    if email and password and (problem := password_problem(password, email)):
        found.add("password", problem)
    found.raise_if_any()
    return Registration(email=email, password=password, role=values["role"] or "user")


def parse_password_change(document: Mapping[str, Any]) -> tuple[str, str]:
    """``{current_password, new_password}``; the policy needs the account's email, so
    ``check_new_password`` applies it once the account is known."""
    values = _members(PASSWORD_CHANGE, document)
    return values["current_password"], values["new_password"]


def check_new_password(password: str, email: str, field: str = "new_password") -> None:
    if problem := password_problem(password, email):
        raise InvalidInputError([FieldError(field, problem)])


def _members(body: Obj, document: Mapping[str, Any]) -> dict[str, Any]:
    found = Findings()
    values = body.members(document, "", found)
    found.raise_if_any()
    return values
