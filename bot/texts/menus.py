"""The command menus: the public one for families, and the staff menus by role."""

from __future__ import annotations

from bot.domain.roles import Role
from bot.i18n import N_

Command = tuple[str, str]  # (name, description marked for translation)

FAMILY_COMMANDS: tuple[Command, ...] = (
    ("new", N_("New tracing request")),
    ("status", N_("My requests and their status")),
    ("add", N_("Add information to a request")),
    ("language", N_("Choose the language")),
    ("help", N_("What this bot can do")),
    ("privacy", N_("What we store and who sees it")),
    ("notices", N_("General notices on or off")),
    ("mydata", N_("A copy of everything we store about you")),
    ("forget", N_("Erase all your data")),
    ("cancel", N_("Stop what you are doing")),
)

# Shown only in staff chats (per-chat scope), after the family commands. Each staff
# description starts with a verb: it says what the command does.
LIAISON_COMMANDS: tuple[Command, ...] = (
    ("queue", N_("Show the cases that need attention")),
    ("close", N_("Close a case: /close CODE reason [details]")),
    ("case", N_("Open a case by its reference code")),
    ("note", N_("Add an internal note to a case")),
    ("ask", N_("Draft a question for the family")),
    ("update", N_("Draft an update for the family")),
    ("decline", N_("Decline a draft, with the reason")),
    ("broadcast", N_("Compose a general notice to families")),
    ("broadcasts", N_("Review, follow and pause general notices")),
    ("find", N_("Search requests by name, code, birth year or place")),
    ("import", N_("Import a list of located persons (CSV or ZIP)")),
    ("export", N_("Export requests for a verification body (CSV and PFIF)")),
    ("dossier", N_("Make the verification dossier of a case (PDF)")),
    ("erase", N_("Request erasure of a case’s personal data (an admin approves)")),
)
ADMIN_COMMANDS: tuple[Command, ...] = (
    ("grant", N_("Add a liaison by Telegram user id")),
    ("revoke", N_("Remove a liaison")),
    ("liaisons", N_("List the liaison team")),
    ("invite", N_("Create a one-time code for a new liaison (24 h)")),
    ("audit", N_("Show who read or changed a case or notice, or what one person did")),
)


def menu_for(role: Role) -> tuple[Command, ...]:
    """Everything a member of `role` has in their menu."""
    if role >= Role.ADMIN:
        return FAMILY_COMMANDS + LIAISON_COMMANDS + ADMIN_COMMANDS
    if role >= Role.LIAISON:
        return FAMILY_COMMANDS + LIAISON_COMMANDS
    return FAMILY_COMMANDS


def names(commands: tuple[Command, ...]) -> frozenset[str]:
    return frozenset(name for name, _description in commands)
