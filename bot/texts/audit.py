"""The audit log as admins read it (/audit): what each recorded action means, in words.

A row holds ids and codes only (who, when, which action, which case or notice), never
personal data, so a line here is built from those alone."""

from __future__ import annotations

from bot.domain.statuses import RequestStatus
from bot.i18n import N_, _, ngettext
from bot.services.access import AuditView
from bot.texts.common import format_moment, h, status_label

# The action codes the services record (see `tx.audit.record`), as a sentence without
# its subject: "6001 · opened the case".
ACTION_LABELS: dict[str, str] = {
    # Reading a case's personal data.
    "open": N_("opened the case"),
    "dossier": N_("made the dossier"),
    "export": N_("exported the case"),
    "find_result": N_("searched and saw it in the results"),
    "find": N_("searched"),
    "queue": N_("looked at the queue"),
    # Working on a case.
    "take": N_("took the case"),
    "release": N_("returned the case to the queue"),
    "status": N_("changed the status"),
    "note": N_("added an internal note"),
    "draft:question": N_("drafted a question for the family"),
    "draft:update": N_("drafted an update for the family"),
    "approve": N_("approved a draft"),
    "decline": N_("declined a draft"),
    "match_confirm": N_("confirmed a possible match"),
    "match_dismiss": N_("dismissed a possible match"),
    "records_export": N_("exported requests"),
    "records_import": N_("imported a list of located persons"),
    # General notices.
    "broadcast:compose": N_("wrote a notice"),
    "broadcast:audience": N_("chose the audience of a notice"),
    "broadcast:open": N_("opened a notice"),
    "broadcast:list": N_("listed the notices"),
    "broadcast:discard": N_("withdrew a notice"),
    "broadcast:submit": N_("submitted a notice for approval"),
    "broadcast:approve": N_("approved a notice"),
    "broadcast:decline": N_("declined a notice"),
    "broadcast:pause": N_("paused the sending of a notice"),
    "broadcast:resume": N_("resumed the sending of a notice"),
    "broadcast:cancel": N_("cancelled the sending of a notice"),
    # The team.
    "grant": N_("made someone a liaison"),
    "revoke": N_("removed a liaison"),
    "invite": N_("created an invite code"),
    "join": N_("joined the team with an invite code"),
    "liaisons": N_("listed the team"),
    "audit": N_("read the audit log"),
}


def action_label(action: str) -> str:
    """What a recorded action means; an action without a label shows its code."""
    label = ACTION_LABELS.get(action)
    if label is not None:
        return _(label)
    if action.startswith("status:") and ">" in action:
        old, new = action.removeprefix("status:").split(">", 1)
        try:
            return _("moved the status from {old} to {new}").format(
                old=status_label(RequestStatus(old)), new=status_label(RequestStatus(new))
            )
        except ValueError:
            pass
    if action.startswith("/"):  # a staff command from someone who may not use it
        return _("sent the staff command {command}").format(command=h(action))
    if action.startswith("button:"):
        return _("pressed a staff button")
    return f"<code>{h(action)}</code>"


def target_label(target: str | None) -> str:
    """What an action was about: a case code, a notice, a person's id."""
    if not target:
        return "—"
    kind, _sep, value = target.partition(":")
    if kind == "case":
        return f"<code>{h(value)}</code>"
    if value.isdigit():
        number = int(value)
        if kind == "broadcast":
            return _("notice #{number}").format(number=number)
        if kind == "user":
            return _("user {user_id}").format(user_id=number)
        if kind == "draft":
            return _("draft #{number}").format(number=number)
        if kind == "requests":
            return ngettext("{count} request", "{count} requests", number).format(count=number)
        if kind == "records":
            return ngettext("{count} record", "{count} records", number).format(count=number)
    return f"<code>{h(target)}</code>"


def describe(entry: AuditView) -> str:
    """The action, marked when it was refused."""
    label = action_label(entry.action)
    return _("{action} (refused)").format(action=label) if not entry.allowed else label


def trail_line(entry: AuditView) -> str:
    """A line of a case's or a notice's trail: when, who, what."""
    return f"{format_moment(entry.created_at)} · {entry.actor_id} · {describe(entry)}"


def person_line(entry: AuditView) -> str:
    """A line of one person's actions: when, which case or notice, what."""
    return f"{format_moment(entry.created_at)} · {target_label(entry.target)} · {describe(entry)}"


def shown_note(shown: int, total: int) -> str:
    """Under the title: the order, and whether the list is complete."""
    if shown >= total:
        return _("Newest first.")
    return ngettext(
        "Newest first: the last {shown} of {total} entry.",
        "Newest first: the last {shown} of {total} entries.",
        total,
    ).format(shown=shown, total=total)
