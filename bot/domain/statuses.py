"""The lifecycle of a tracing request, as liaisons move it and as families see it."""

from __future__ import annotations

from enum import StrEnum

from bot.domain.markers import N_


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    NEEDS_INFORMATION = "needs_information"
    IN_TRACING = "in_tracing"
    LOCATED = "located"
    VERIFIED = "verified"
    REUNIFICATION_ARRANGED = "reunification_arranged"
    REUNITED = "reunited"
    CLOSED = "closed"


class CloseReason(StrEnum):
    WITHDRAWN = "withdrawn"
    DUPLICATE = "duplicate"
    OUT_OF_SCOPE = "out_of_scope"
    OTHER = "other"


# Family-facing names follow the glossary; marked here, translated where shown.
STATUS_LABELS: dict[RequestStatus, str] = {
    RequestStatus.SUBMITTED: N_("Received"),
    RequestStatus.IN_REVIEW: N_("Under review"),
    RequestStatus.NEEDS_INFORMATION: N_("Information needed"),
    RequestStatus.IN_TRACING: N_("Tracing in progress"),
    RequestStatus.LOCATED: N_("Located"),
    RequestStatus.VERIFIED: N_("Verified"),
    RequestStatus.REUNIFICATION_ARRANGED: N_("Reunification being arranged"),
    RequestStatus.REUNITED: N_("Reunited"),
    RequestStatus.CLOSED: N_("Closed"),
}

STATUS_MEANINGS: dict[RequestStatus, str] = {
    RequestStatus.SUBMITTED: N_("We have your request. A liaison will look at it soon."),
    RequestStatus.IN_REVIEW: N_("A liaison is checking the details of your request."),
    RequestStatus.NEEDS_INFORMATION: N_(
        "We need more information from you. Please look for our question in this chat."
    ),
    RequestStatus.IN_TRACING: N_("The search is under way with the authorities on both sides."),
    RequestStatus.LOCATED: N_(
        "The whereabouts of the person you are looking for have been established. "
        "Their identity is still being verified."
    ),
    RequestStatus.VERIFIED: N_("Identity and well-being have been confirmed by a joint check."),
    RequestStatus.REUNIFICATION_ARRANGED: N_(
        "The steps for reunification are being prepared. We will contact you."
    ),
    RequestStatus.REUNITED: N_("The family has been reunited."),
    RequestStatus.CLOSED: N_("Work on this request has ended."),
}

CLOSE_REASON_LABELS: dict[CloseReason, str] = {
    CloseReason.WITHDRAWN: N_("withdrawn by the requester"),
    CloseReason.DUPLICATE: N_("a duplicate of another request"),
    CloseReason.OUT_OF_SCOPE: N_("outside what this service can do"),
    CloseReason.OTHER: N_("other reason"),
}

# Allowed moves; the liaison side (next issue) enforces them through `can_move`.
_FORWARD = [
    RequestStatus.SUBMITTED,
    RequestStatus.IN_REVIEW,
    RequestStatus.NEEDS_INFORMATION,
    RequestStatus.IN_TRACING,
    RequestStatus.LOCATED,
    RequestStatus.VERIFIED,
    RequestStatus.REUNIFICATION_ARRANGED,
    RequestStatus.REUNITED,
]
ALLOWED_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    status: frozenset(([_FORWARD[i + 1]] if i + 1 < len(_FORWARD) else []) + [RequestStatus.CLOSED])
    for i, status in enumerate(_FORWARD)
}
ALLOWED_TRANSITIONS[RequestStatus.CLOSED] = frozenset()
# Information may be asked for at any working stage, and work resumes afterwards.
for _status in (RequestStatus.IN_TRACING, RequestStatus.LOCATED):
    ALLOWED_TRANSITIONS[_status] |= {RequestStatus.NEEDS_INFORMATION}
ALLOWED_TRANSITIONS[RequestStatus.NEEDS_INFORMATION] |= {RequestStatus.IN_REVIEW}


def can_move(current: RequestStatus, target: RequestStatus) -> bool:
    return target in ALLOWED_TRANSITIONS[current]


OPEN_STATUSES = frozenset(
    s for s in RequestStatus if s not in {RequestStatus.CLOSED, RequestStatus.REUNITED}
)
