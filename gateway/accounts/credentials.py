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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from gateway.accounts.passwords import normalize
from gateway.errors import FieldError, InvalidInputError, describe
from gateway.tokens import ROLES, Role

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


def parse_login(document: Mapping[str, Any]) -> tuple[str, str]:
    """``{email, password}`` as given: no policy at login, just strings of sane size."""
    errors = _unknown_fields(document, ("email", "password"))
    email = _string(document, "email", errors, MAX_EMAIL_LENGTH)
    password = _string(document, "password", errors, 4 * MAX_PASSWORD_LENGTH)
    _raise_if_any(errors)
    return email, password


def parse_registration(document: Mapping[str, Any]) -> Registration:
    errors = _unknown_fields(document, ("email", "password", "role"))
    email = _string(document, "email", errors, MAX_EMAIL_LENGTH)
    password = _string(document, "password", errors, 4 * MAX_PASSWORD_LENGTH)
    role = document.get("role", "user")
    if role not in ROLES:
        errors.append(FieldError("role", f"expected 'user' or 'admin', got {describe(role)}"))
    if email and (problem := email_problem(email)):
        errors.append(FieldError("email", problem))
    if email and password and (problem := password_problem(password, email)):
        errors.append(FieldError("password", problem))
    _raise_if_any(errors)
    return Registration(email=email, password=password, role=role)


def parse_password_change(document: Mapping[str, Any]) -> tuple[str, str]:
    """``{current_password, new_password}``; the policy needs the account's email, so
    ``check_new_password`` applies it once the account is known."""
    errors = _unknown_fields(document, ("current_password", "new_password"))
    current = _string(document, "current_password", errors, 4 * MAX_PASSWORD_LENGTH)
    new = _string(document, "new_password", errors, 4 * MAX_PASSWORD_LENGTH)
    _raise_if_any(errors)
    return current, new


def check_new_password(password: str, email: str, field: str = "new_password") -> None:
    if problem := password_problem(password, email):
        raise InvalidInputError([FieldError(field, problem)])


def _unknown_fields(document: Mapping[str, Any], allowed: Sequence[str]) -> list[FieldError]:
    return [
        FieldError(str(key)[:40], f"unknown field; accepted fields: {', '.join(allowed)}")
        for key in document
        if key not in allowed
    ]


def _string(document: Mapping[str, Any], name: str, errors: list[FieldError], limit: int) -> str:
    """The field's value, or "" after recording why it is unusable. Never echoes it:
    the field may hold a password."""
    value = document.get(name)
    if value is None:
        errors.append(FieldError(name, "is required"))
    elif not isinstance(value, str):
        errors.append(FieldError(name, "expected a string"))
    elif not value:
        errors.append(FieldError(name, "must not be empty"))
    elif len(value) > limit:
        errors.append(FieldError(name, f"must be at most {limit} characters"))
    else:
        return value
    return ""


def _raise_if_any(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInputError(errors)
